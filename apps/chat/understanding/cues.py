"""The words around a mention (a time, a language) that say what it is: "the last 3 seconds", "from
Korean", "일본어로". A cue is words that end right before the mention or start right after it."""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    before: re.Pattern[str] | None
    after: re.Pattern[str] | None

    def fits(self, before: str, after: str) -> bool:
        return bool((self.before and self.before.search(before)) or (self.after and self.after.match(after)))


def cue(*, before: str | None = None, after: str | None = None) -> Cue:
    """`before`: words the text before the mention ends with; `after`: words the text after it starts with."""
    return Cue(
        re.compile(rf"(?:{before})\s*$") if before else None,
        re.compile(rf"^\s*(?:{after})") if after else None,
    )


class Roles:
    """What a mention can be, each role with its cue as (role, before, after) rows; a mention takes the
    first role whose cue fits."""

    def __init__(self, *rows: tuple[str, str | None, str | None]):
        self._cues = tuple((role, cue(before=before, after=after)) for role, before, after in rows)

    def of(self, before: str, after: str) -> str | None:
        return next((role for role, role_cue in self._cues if role_cue.fits(before, after)), None)


def around(text: str, start: int, end: int, *, before: int, after: int) -> tuple[str, str]:
    """Up to `before` characters before text[start:end] and up to `after` characters after it."""
    return text[max(0, start - before) : start], text[end : end + after]
