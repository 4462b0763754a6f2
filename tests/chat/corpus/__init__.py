"""The chat corpus: requests as users write them, each with the editing context it is sent with
and the steps (tool + the arguments that matter) it must come back as; read by test_corpus.py and
by score.py (per-language rates for any corpus file)."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent
CONFIRMATION_MARKERS = ("Shall I go ahead?", "진행할까요?")
AGREEMENT = {"en": "yes", "ko": "네"}
# Texts that answer nothing: a question must never get one of these.
GENERIC_ANSWERS = ("What would you like to change?", "어떤 편집을 도와드릴까요?")


@dataclass(frozen=True)
class Case:
    source: str
    number: int
    lang: str
    ctx: str
    say: str | list
    steps: list | None
    text_contains: list | None
    no_confirm: bool
    known_miss: str | None = None

    @property
    def id(self) -> str:
        said = self.say if isinstance(self.say, str) else self.say[-1][1]
        return f"{self.source}:{self.number}:{said[:40]}"

    def turns(self) -> list[tuple[str, str]]:
        if isinstance(self.say, str):
            return [("user", self.say)]
        return [(role, text) for role, text in self.say]


def contexts() -> dict[str, dict]:
    raw = json.loads((CORPUS_DIR / "contexts.json").read_text(encoding="utf-8"))
    built = {}
    for name, value in raw.items():
        base = copy.deepcopy(raw[value["extends"]]) if "extends" in value else {}
        base.update({key: item for key, item in value.items() if key != "extends"})
        built[name] = base
    return built


def load(name: str) -> list[Case]:
    cases = []
    for number, line in enumerate((CORPUS_DIR / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        cases.append(
            Case(
                source=name.removesuffix(".jsonl"),
                number=number,
                lang=row["lang"],
                ctx=row["ctx"],
                say=row["say"],
                steps=row.get("steps"),
                text_contains=row.get("textContains"),
                no_confirm=bool(row.get("noConfirm")),
                known_miss=row.get("knownMiss"),
            )
        )
    return cases


def is_confirmation(text: str) -> bool:
    return any(marker in text for marker in CONFIRMATION_MARKERS)


def _value_matches(expected, actual) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, int | float) and abs(float(expected) - float(actual)) <= 0.011
    return expected == actual


def tools_match(expected: list, actual: list[tuple[str, dict]]) -> bool:
    return [name for name, _ in expected] == [name for name, _ in actual]


def arguments_match(expected: list, actual: list[tuple[str, dict]]) -> bool:
    if not tools_match(expected, actual):
        return False
    return all(
        key in args and _value_matches(value, args[key])
        for (_, wanted), (_, args) in zip(expected, actual, strict=True)
        for key, value in wanted.items()
    )


@dataclass
class Outcome:
    """What came back, read the way the phone reads it (after one "yes" when asked to confirm)."""

    first_kind: str
    first_text: str
    kind: str
    text: str
    steps: list[tuple[str, dict]]
    confirmed: bool


def converse(case: Case, ask) -> Outcome:
    """Runs the case through `ask(turns) -> (kind, text, steps)`, agreeing once to a confirmation
    question when the case expects steps."""
    turns = case.turns()
    kind, text, steps = ask(turns)
    first_kind, first_text, confirmed = kind, text, False
    if kind == "text" and case.steps and is_confirmation(text):
        turns = [*turns, ("model", text), ("user", AGREEMENT[case.lang])]
        kind, text, steps = ask(turns)
        confirmed = True
    return Outcome(first_kind, first_text, kind, text, steps, confirmed)
