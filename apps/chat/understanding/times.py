"""Times and time ranges in a (normalised, digits-only) request, English and Korean.

Every time mention is read with its unit ("3초", "1분 30초", "1:30", "90 seconds", "2.5s", "500ms");
pairs joined by "to / - / ~ / 부터 … 까지 / between … and" become ranges (a bare number takes
its partner's unit); single mentions are classified by the words around them: the first or
last N of something, from N on, until N, at / to N, N later or earlier, keep N.
"""

import re
from dataclasses import dataclass, field

from apps.chat.understanding.cues import Roles, around

_EN_END = r"(?![a-z])"
_NUM = r"\d+(?:\.\d+)?"
_MENTION = re.compile(
    rf"(?P<min>{_NUM})\s*(?:분|minutes?{_EN_END}|mins?{_EN_END}|m{_EN_END})\s*(?:and\s+)?(?P<sec>{_NUM})\s*(?:초|seconds?{_EN_END}|secs?{_EN_END}|s{_EN_END})?"
    rf"|(?P<clock_m>\d{{1,2}}):(?P<clock_s>\d{{2}}(?:\.\d+)?)"
    rf"|(?P<ms>{_NUM})\s*(?:ms{_EN_END}|milliseconds?{_EN_END}|밀리초)"
    rf"|(?P<s>{_NUM})\s*(?:초|seconds?{_EN_END}|secs?{_EN_END}|s{_EN_END})"
    rf"|(?P<m>{_NUM})\s*(?:분|minutes?{_EN_END}|mins?{_EN_END}|m{_EN_END})"
    rf"|(?P<bare>(?<![\d.]){_NUM})(?!\s*(?:%|퍼센트|프로|percent|배|x{_EN_END}|times|번|db|데시벨|dB|(?:st|nd|rd|th)\b))",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(
    r"^\s*(?:to|-|–|—|~|until|till|through|thru|부터|에서|부터\s*~|에서\s*~|~\s*부터)\s*$", re.IGNORECASE
)
_BETWEEN_JOIN = re.compile(r"^\s*(?:and|&)\s*$", re.IGNORECASE)
_BETWEEN_BEFORE = re.compile(r"(?:between|from)\s*$", re.IGNORECASE)

# What a single time mention is, by the words around it; the first role that fits wins.
_ROLES = Roles(
    (
        "later",
        None,
        r"later|forward|further|to\s+the\s+right|right|뒤로|늦게|미뤄|밀어|오른쪽|(?:뒤|후)에\s*(?:나오|시작|들어|깔|재생)",
    ),
    ("earlier", None, r"earlier|sooner|back(?:ward)?s?|to\s+the\s+left|left|앞으로|빨리|당겨|왼쪽"),
    (
        "head",
        r"(?:first|opening|beginning|initial|처음|앞|앞부분|초반|맨\s*앞|시작|앞에서|처음부터)\s*(?:에서|에|의|부분)?\s*(?:the\s*)?",
        r"of\s+the\s+(?:start|beginning)|at\s+the\s+(?:start|beginning)|from\s+the\s+(?:start|beginning)",
    ),
    (
        "tail",
        r"(?:last|final|ending|마지막|끝|뒤|뒷부분|후반|끝에서|맨\s*뒤|맨\s*끝|뒤에서)\s*(?:에서|에|의|부분)?\s*(?:the\s*)?",
        r"at\s+the\s+end|from\s+the\s+end|of\s+the\s+end|off\s+the\s+end",
    ),
    (
        "from_ms",
        r"from|after|starting\s+at|starting|since|past|beyond",
        r"부터|이후|에서부터|뒤부터|후부터|onwards?|on\b|and\s+after|and\s+later",
    ),
    ("until_ms", r"until|till|up\s+to|before|upto", r"까지|전까지|이전|전"),
    (
        "keep",
        r"(?:only|keep(?:\s+only)?|shorten\s+(?:it\s+)?to|trim\s+(?:it\s+)?to|down\s+to)\s*(?:the\s+)?(?:first\s+)?",
        r"만\s*남|길이로|짜리로|로\s*(?:잘라|줄여|짧게|맞춰|다듬)|으로\s*(?:잘라|줄여|짧게)|long\b",
    ),
    ("point", r"at|to|into|@|starts?\s+at|start\s+it\s+at|begin\s+at", r"에|로|으로|지점|위치|부분에|쯤|즈음"),
)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    ms: int | None  # None for a bare number whose unit is unknown
    value: float
    unit_ms: int | None


@dataclass
class TimeFacts:
    ranges: list[tuple[int, int]] = field(default_factory=list)
    head: int | None = None  # the first N ms (of the target)
    tail: int | None = None  # the last N ms
    from_ms: int | None = None
    until_ms: int | None = None
    point: int | None = None  # "at N", "to N", "N초에"
    keep: int | None = None  # "trim to N", "N초만 남기고"
    shift: int | None = None  # +N later, -N earlier
    durations: list[int] = field(default_factory=list)  # other mentions with a unit
    half: str | None = None  # "first" or "second" half

    @property
    def empty(self) -> bool:
        return not (
            self.ranges
            or self.durations
            or self.half
            or any(
                value is not None
                for value in (self.head, self.tail, self.from_ms, self.until_ms, self.point, self.keep, self.shift)
            )
        )


def _mention(match: re.Match) -> Mention:
    groups = match.groupdict()
    if groups["min"] is not None:
        ms = round((float(groups["min"]) * 60 + float(groups["sec"])) * 1000)
        return Mention(match.start(), match.end(), ms, ms / 1000, 1000)
    if groups["clock_m"] is not None:
        ms = round((int(groups["clock_m"]) * 60 + float(groups["clock_s"])) * 1000)
        return Mention(match.start(), match.end(), ms, ms / 1000, 1000)
    for name, unit in (("ms", 1), ("s", 1000), ("m", 60_000)):
        if groups[name] is not None:
            value = float(groups[name])
            return Mention(match.start(), match.end(), round(value * unit), value, unit)
    value = float(groups["bare"])
    return Mention(match.start(), match.end(), None, value, None)


def mentions(text: str) -> list[Mention]:
    return [_mention(match) for match in _MENTION.finditer(text)]


def _with_unit(mention: Mention, unit_ms: int) -> int:
    return round(mention.value * unit_ms)


def time_facts(text: str) -> TimeFacts:
    """What the request says about time; `text` is lower-case with numbers as digits."""
    facts = TimeFacts()
    # "seconds 3 through 6", "from second 3 to 6": the unit said first
    text = re.sub(
        r"\b(?:seconds?|secs?)\s+(\d+(?:\.\d+)?)\s*(to|through|thru|until|till|-|and)\s*(\d+(?:\.\d+)?)\b(?!\s*(?:s\b|sec|초))",
        r"\1 \2 \3 seconds",
        text,
    )
    found = mentions(text)
    used: set[int] = set()
    for index in range(len(found) - 1):
        first, second = found[index], found[index + 1]
        if index in used:
            continue
        between = text[first.end : second.start]
        before = text[max(0, first.start - 12) : first.start]
        joined = _RANGE_JOIN.match(between) or (_BETWEEN_JOIN.match(between) and _BETWEEN_BEFORE.search(before))
        if not joined:
            continue
        if first.ms is None and second.ms is None:
            if not re.search(r"(?:from|between|부터|에서)\s*$", before) and "부터" not in between:
                continue
            unit = 1000
            start, end = _with_unit(first, unit), _with_unit(second, unit)
        else:
            start = first.ms if first.ms is not None else _with_unit(first, second.unit_ms)
            end = second.ms if second.ms is not None else _with_unit(second, first.unit_ms)
        if start < end:
            facts.ranges.append((start, end))
            used.update({index, index + 1})
    for index, mention in enumerate(found):
        if index in used or mention.ms is None:
            continue
        before, after = around(text, mention.start, mention.end, before=24, after=24)
        role = _ROLES.of(before, re.sub(r"^\s*(?:지점|쯤|즈음|정도|부분)", "", after))
        if role is None:
            facts.durations.append(mention.ms)
        elif role in ("later", "earlier"):
            facts.shift = mention.ms if role == "later" else -mention.ms
        else:
            setattr(facts, role, mention.ms)
    if facts.from_ms is not None and facts.until_ms is not None and facts.from_ms < facts.until_ms:
        facts.ranges.append((facts.from_ms, facts.until_ms))
        facts.from_ms = facts.until_ms = None
    if re.search(r"(?:first|front)\s+half|전반(?:부|전)?|앞\s*(?:부분\s*)?(?:절반|반)", text):
        facts.half = "first"
    elif re.search(
        r"(?:second|back|last|latter)\s+half|후반(?:부|전)?|뒤\s*(?:부분\s*)?(?:절반|반)|뒷\s*(?:부분\s*)?(?:절반|반)",
        text,
    ):
        facts.half = "second"
    return facts


def strip_times(text: str) -> str:
    """The text without its time mentions (and the bare numbers of its time ranges), so that
    "from 5 to 10 seconds" is never read as a volume or a speed."""
    found = mentions(text)
    drop: set[int] = {index for index, mention in enumerate(found) if mention.ms is not None}
    for index in range(len(found) - 1):
        first, second = found[index], found[index + 1]
        between = text[first.end : second.start]
        if (first.ms is None) != (second.ms is None) and (_RANGE_JOIN.match(between) or _BETWEEN_JOIN.match(between)):
            drop.update({index, index + 1})
    for index in sorted(drop, reverse=True):
        text = text[: found[index].start] + " " + text[found[index].end :]
    return text
