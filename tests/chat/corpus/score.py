"""Per-language right-tool / right-argument rates and per-turn time of the offline interpreter on a
corpus file: `python -m tests.chat.corpus.score single_tool.jsonl [more files] [-v]`."""

import statistics
import sys
import time

from apps.chat.understanding.planner import interpret
from tests.chat.corpus import GENERIC_ANSWERS, arguments_match, contexts, converse, load, tools_match


def main(names: list[str], verbose: bool) -> None:
    built = contexts()
    timings: list[float] = []

    for name in names:
        totals: dict[str, list[int]] = {}
        for case in load(name):

            def ask(turns, context=built[case.ctx]):
                started = time.perf_counter()
                reply = interpret(turns, context, "ko")
                timings.append((time.perf_counter() - started) * 1000)
                if reply.calls:
                    return "proposal", reply.text, [(call.name, call.args) for call in reply.calls]
                return "text", reply.text, []

            outcome = converse(case, ask)
            kind = "multi" if case.steps and len(case.steps) > 1 else ("text" if case.steps is None else "single")
            row = totals.setdefault(f"{kind}/{case.lang}", [0, 0, 0])
            row[0] += 1
            if case.steps is None:
                good = outcome.kind == "text" and outcome.text not in GENERIC_ANSWERS
                good = good and all(fragment in outcome.text for fragment in case.text_contains or [])
                row[1] += good
                row[2] += good
            else:
                row[1] += tools_match(case.steps, outcome.steps)
                row[2] += arguments_match(case.steps, outcome.steps)
                good = arguments_match(case.steps, outcome.steps)
            if verbose and not good:
                print(
                    f"  MISS {case.id}\n       want {case.steps or case.text_contains}\n       got  {outcome.steps or outcome.text[:160]!r}"
                )
        print(name)
        for key, (count, tools, arguments) in sorted(totals.items()):
            print(f"  {key:10} n={count:3}  right tool {tools / count:6.1%}  right arguments {arguments / count:6.1%}")
    if timings:
        print(f"per turn: mean {statistics.mean(timings):.2f} ms, max {max(timings):.2f} ms over {len(timings)} turns")


if __name__ == "__main__":
    import django

    django.setup()
    arguments = [argument for argument in sys.argv[1:] if argument != "-v"]
    main(arguments or ["single_tool.jsonl", "multi_step.jsonl", "no_tool.jsonl"], "-v" in sys.argv)
