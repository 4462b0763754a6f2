"""Which item of the project a request points at: ordinals ("the second clip", "세 번째 자막",
"clip 2", "2번 클립", "the last one", "끝에서 두 번째"), "this one" / the selection, the range
being dragged, an id or file name, a quoted subtitle text or a time inside an item."""

import re
from dataclasses import dataclass

NOUNS = {
    "segment": r"clips?|segments?|videos?|parts?|scenes?|shots?|sections?|pieces?|footage|클립|영상|세그먼트|장면|컷|조각|비디오|동영상",
    "subtitle": r"subtitles?|captions?|subs?|lines?|cues?|자막|문장|대사|캡션",
    "bgm": r"music|songs?|tracks?|bgm|tunes?|background\s+music|음악|노래|배경음악|브금|곡|트랙|배경\s*음악",
    "speaker": r"speakers?|persons?|people|voices?|화자|사람|목소리|스피커",
}
_GENERIC_NOUN = r"items?|ones?|거|것|번|개"
_EN_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
    "final": -1,
    "penultimate": -2,
    "opening": 1,
}
_KO_ORDINALS = {"첫": 1, "첫째": 1, "둘째": 2, "셋째": 3, "넷째": 4, "다섯째": 5}
_ANY_NOUN = "|".join([*NOUNS.values(), _GENERIC_NOUN])


@dataclass(frozen=True)
class Ordinal:
    index: int  # 1-based, negative from the end (-1 last)
    kind: str | None  # the noun's kind when one follows, else None
    start: int
    end: int


def _noun_kind(noun: str) -> str | None:
    for kind, pattern in NOUNS.items():
        if re.fullmatch(pattern, noun.strip()):
            return kind
    return None


_ORDINAL_TOKEN = rf"(?:{'|'.join(_EN_ORDINALS)}|\d+(?:st|nd|rd|th))"
_LISTED_ORDINAL = re.compile(rf"\b(?P<word>{_ORDINAL_TOKEN})(?=\s*(?:,|and|or|&)\s*(?:the\s+)?{_ORDINAL_TOKEN}\b)")
_LISTED_NUMBER = re.compile(rf"\b(?:{_ANY_NOUN})\s*\d+(?:\s*(?:,|and|or|&)\s*(?P<n>\d+)\b)+")
_FIRST_N = re.compile(rf"\b(?P<end>first|last)\s+(?P<n>\d+)\s+(?P<noun>{_ANY_NOUN})")


def _ordinal_value(word: str) -> int:
    return _EN_ORDINALS[word] if word in _EN_ORDINALS else int(re.sub(r"\D", "", word))


_PATTERNS = [
    # "second to last clip", "next to last", "끝에서 두 번째"
    (
        re.compile(rf"\b(?:second|2nd)[\s-]+(?:to|from)[\s-]+(?:the\s+)?(?:last|end)\s*(?P<noun>{_ANY_NOUN})?"),
        lambda m: -2,
    ),
    (re.compile(rf"\bnext[\s-]+to[\s-]+last\s*(?P<noun>{_ANY_NOUN})?"), lambda m: -2),
    (re.compile(rf"(?:끝|뒤)에서\s*(?P<n>\d+)\s*(?:번째|째)\s*(?P<noun>{_ANY_NOUN})?"), lambda m: -int(m.group("n"))),
    (re.compile(rf"(?P<n>\d+)\s*(?:st|nd|rd|th)\s+(?P<noun>{_ANY_NOUN})?"), lambda m: int(m.group("n"))),
    (re.compile(rf"(?P<n>\d+)\s*번\s*(?P<noun>{_ANY_NOUN})(?!\s*더)"), lambda m: int(m.group("n"))),
    (
        re.compile(
            rf"\b(?:middle|center|centre)\s+(?P<noun>{_ANY_NOUN})|(?:가운데|중간)\s*(?:에\s*있는\s*)?(?P<ko_noun>{_ANY_NOUN})"
        ),
        lambda m: 0,
    ),
    (
        re.compile(rf"\b(?P<word>{'|'.join(_EN_ORDINALS)})\s+(?:one\s+|item\s+)?(?P<noun>{_ANY_NOUN})"),
        lambda m: _EN_ORDINALS[m.group("word")],
    ),
    (
        re.compile(
            rf"\b(?P<noun>{_ANY_NOUN})\s*(?:#|no\.?\s*|number\s+)?(?P<n>\d+)(?![\d.]|:\d)(?!\s*(?:초|분|s\b|sec|min|ms|%|x\b|배|퍼센트|프로|db|번\s*더|번째|개|째|-|~))"
        ),
        lambda m: int(m.group("n")),
    ),
    (re.compile(rf"(?P<n>\d+)\s*(?:번째|째)\s*(?P<noun>{_ANY_NOUN})?"), lambda m: int(m.group("n"))),
    (
        re.compile(rf"(?P<word>첫째|둘째|셋째|넷째|다섯째|첫)\s*(?:번째)?\s*(?P<noun>{_ANY_NOUN})?"),
        lambda m: _KO_ORDINALS[m.group("word")],
    ),
    (
        re.compile(
            rf"(?:마지막|맨\s*끝|맨\s*뒤|제일\s*끝|제일\s*뒤|끝)\s*(?:에\s*있는\s*|의\s*)?(?P<noun>{_ANY_NOUN})"
            r"|마지막(?=\s*(?:은|는|도|을|를|만|거|것|꺼)(?![가-힣]))"
        ),
        lambda m: -1,
    ),
    (re.compile(rf"(?:맨\s*앞|제일\s*앞|처음|맨\s*처음)\s*(?:에\s*있는\s*|의\s*)?(?P<noun>{_ANY_NOUN})"), lambda m: 1),
]


def ordinals(text: str) -> list[Ordinal]:
    """Ordinal references in `text` (lower-case, numbers as digits), in order of appearance."""
    found: list[Ordinal] = []
    taken: list[tuple[int, int]] = []
    for pattern, index_of in _PATTERNS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            noun = match.groupdict().get("noun") or match.groupdict().get("ko_noun")
            kind = _noun_kind(noun) if noun else None
            found.append(Ordinal(index_of(match), kind, match.start(), match.end()))
            taken.append((match.start(), match.end()))
    for match in _LISTED_ORDINAL.finditer(text):
        if not any(start < match.end() and match.start() < end for start, end in taken):
            following = next((o for o in found if o.start > match.start()), None)
            found.append(
                Ordinal(
                    _ordinal_value(match.group("word")),
                    following.kind if following else None,
                    match.start(),
                    match.end(),
                )
            )
            taken.append((match.start(), match.end()))
    for match in _LISTED_NUMBER.finditer(text):
        first = next((o for o in found if match.start() <= o.start < match.end()), None)
        for number in re.findall(r"(?:,|and|or|&)\s*(\d+)", text[match.start() : match.end()]):
            found.append(Ordinal(int(number), first.kind if first else None, match.end(), match.end()))
    for match in _FIRST_N.finditer(text):
        count, kind = int(match.group("n")), _noun_kind(match.group("noun"))
        if count > 1:
            found = [o for o in found if not (match.start() <= o.start < match.end())]
            indexes = range(1, count + 1) if match.group("end") == "first" else range(-count, 0)
            found += [Ordinal(index, kind, match.start(), match.end()) for index in indexes]
    return sorted(found, key=lambda ordinal: ordinal.start)


_THIS = re.compile(
    r"\b(?:this|selected|current|highlighted|chosen|that)\b(?!\s+(?:range|part|section|portion|bit|area|span|selection))"
    r"|선택(?:한|된|되어\s*있는|해\s*둔|중인)|이\s*(?:클립|자막|영상|노래|음악|거|것|곡|장면)|지금\s*(?:클립|자막|이거)|이거|요거|이것"
)
_PENDING = re.compile(
    r"\b(?:this|that|the|selected|highlighted|marked|dragged)\s+(?:range|part|section|portion|bit|area|span|selection|region)\b"
    r"|\bselection\b|\bhere\b|\bselected\b|이\s*(?:구간|부분|범위|영역)|여기|선택(?:한|된)\s*(?:구간|부분|범위|영역)|드래그|지정한\s*(?:구간|부분)|잡은\s*(?:구간|부분)|표시한"
)


def says_this(text: str) -> bool:
    return bool(_THIS.search(text))


def says_pending_range(text: str) -> bool:
    return bool(_PENDING.search(text))


def pick(items: list[dict], index: int) -> dict | None:
    """The item at a 1-based (or negative, from the end) position; 0 is the middle one."""
    if not items:
        return None
    if index == 0:
        return items[(len(items) - 1) // 2]
    position = index - 1 if index > 0 else len(items) + index
    return items[position] if 0 <= position < len(items) else None


def item_at(items: list[dict], ms: int) -> dict | None:
    return next((item for item in items if (item.get("startMs") or 0) <= ms < (item.get("endMs") or 0)), None)


def item_named(items: list[dict], text: str) -> dict | None:
    """An item whose id or source file name appears in the text."""
    for item in items:
        for key in ("id", "sourceUri"):
            name = str(item.get(key) or "").lower()
            stem = name.rsplit(".", 1)[0]
            if len(stem) >= 3 and stem in text:
                return item
    return None


def subtitle_quoted(items: list[dict], quotes: list[str]) -> dict | None:
    """The subtitle clip whose text contains one of the quoted strings."""
    for quote in quotes:
        needle = quote.strip().lower()
        if not needle:
            continue
        for item in items:
            if needle in str(item.get("text") or "").lower():
                return item
    return None
