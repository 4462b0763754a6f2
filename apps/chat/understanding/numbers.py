"""Numbers written as words, English and Korean, rewritten as digits so the other resolvers only
read digits: "two and a half seconds" → "2.5 seconds", "fifty percent" → "50 percent",
"세 번째" → "3 번째", "삼십 초" → "30 초", "1분 반" → "1분 30초"."""

import re

_EN_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_EN_WORD = "|".join([*_EN_TENS, *_EN_UNITS, "hundred", "a", "an"])
_EN_NUMBER = re.compile(
    rf"\b((?:{_EN_WORD})(?:[\s-]+(?:{_EN_WORD}|and))*)(\s+and\s+a\s+half|\s+and\s+a\s+quarter)?\b", re.IGNORECASE
)

# Korean native numbers only count before a counter (네 = "yes", 세 = "three" or part of a word).
_KO_NATIVE = {
    "한": 1,
    "하나": 1,
    "두": 2,
    "둘": 2,
    "세": 3,
    "셋": 3,
    "석": 3,
    "네": 4,
    "넷": 4,
    "넉": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
    "열": 10,
    "스무": 20,
    "스물": 20,
    "서른": 30,
    "마흔": 40,
    "쉰": 50,
}
_KO_COUNTER = r"(?=\s?(?:번째|번|배속|배|개|째|명|초|분|군데|줄|곡))"
_KO_NATIVE_NUMBER = re.compile(
    r"(?<![가-힣])((?:열|스물|스무|서른|마흔|쉰)?\s?(?:하나|한|둘|두|셋|세|석|넷|네|넉|다섯|여섯|일곱|여덟|아홉)?|열|스무|스물|서른|마흔|쉰)"
    + _KO_COUNTER
)
_KO_SINO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_KO_SINO_NUMBER = re.compile(
    r"(?<![가-힣])([일이삼사오육칠팔구십백]{2,}|[삼사오육칠팔구십])(?=\s?(?:초|분|퍼센트|프로|배속|데시벨))"
)
# "this one", "the last one": "one" is a pronoun there, not a number.
_PRONOUN_ONE = re.compile(
    r"\b(this|that|the|last|first|second|third|fourth|fifth|selected|next|previous|other|same|each|every|which|"
    r"new|current|final|middle|latter|former)\s+one\b",
    re.IGNORECASE,
)
_KO_HALF_MINUTE = re.compile(r"(\d+)\s*분\s*반")


def english_words_value(words: str) -> float | None:
    """Value of an English number phrase ("twenty five", "a hundred", "one hundred and ten")."""
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "and" or not word:
            continue
        if word in ("a", "an"):
            current = max(current, 1)
            seen = True
        elif word in _EN_UNITS:
            current += _EN_UNITS[word]
            seen = True
        elif word in _EN_TENS:
            current += _EN_TENS[word]
            seen = True
        elif word == "hundred":
            current = max(current, 1) * 100
            seen = True
        else:
            return None
    return float(total + current) if seen else None


def korean_sino_value(word: str) -> int | None:
    """Value of a Sino-Korean number ("삼십오" → 35, "십" → 10, "백" → 100)."""
    total, digit = 0, 0
    for char in word:
        if char in _KO_SINO_DIGITS:
            digit = _KO_SINO_DIGITS[char]
        elif char == "십":
            total += (digit or 1) * 10
            digit = 0
        elif char == "백":
            total += (digit or 1) * 100
            digit = 0
        else:
            return None
    return total + digit


def _format(value: float) -> str:
    return f"{value:g}"


def _replace_english(match: re.Match) -> str:
    phrase, fraction = match.group(1), match.group(2)
    if phrase.strip().lower() in ("a", "an"):
        # "a" alone is a number only before "half"/a unit handled by callers ("a second" → 1 second)
        if not fraction:
            return match.group(0)
    value = english_words_value(phrase)
    if value is None:
        return match.group(0)
    if fraction:
        value += 0.5 if "half" in fraction else 0.25
    trailing = "and" if re.search(r"\band$", phrase.strip(), re.IGNORECASE) else ""
    return _format(value) + (" and" if trailing else "")


def _replace_korean_native(match: re.Match) -> str:
    phrase = match.group(1).replace(" ", "")
    if not phrase:
        return match.group(0)
    value, rest = 0, phrase
    for tens in ("열", "스물", "스무", "서른", "마흔", "쉰"):
        if rest.startswith(tens):
            value += _KO_NATIVE[tens]
            rest = rest[len(tens) :]
            break
    if rest:
        if rest not in _KO_NATIVE:
            return match.group(0)
        value += _KO_NATIVE[rest]
    return str(value)


def _replace_korean_sino(match: re.Match) -> str:
    value = korean_sino_value(match.group(1))
    return match.group(0) if value is None else str(value)


_EN_PLAIN_WORD = "|".join([*_EN_TENS, *_EN_UNITS, "hundred"])
_AND_A_HALF = re.compile(
    rf"\b((?:{_EN_PLAIN_WORD}|\d+)(?:[\s-]+(?:{_EN_PLAIN_WORD}))*)\s+and\s+a\s+(half|quarter)\b", re.IGNORECASE
)


def _replace_and_a_half(match: re.Match) -> str:
    phrase = match.group(1)
    value = float(phrase) if phrase.isdigit() else english_words_value(phrase)
    if value is None:
        return match.group(0)
    return _format(value + (0.5 if match.group(2).lower() == "half" else 0.25))


def words_to_digits(text: str) -> str:
    """The text with number words rewritten as digits (other words untouched)."""
    text = _AND_A_HALF.sub(_replace_and_a_half, text)
    # "the last second" is one second, "the second clip" an ordinal
    text = re.sub(
        r"\b(first|last|final|opening)\s+(second|minute)\b(?!\s*(?:clip|one|segment|part|subtitle|caption|song|track|speaker|item|line|video|scene))",
        r"\1 1 \2",
        text,
        flags=re.IGNORECASE,
    )
    text = _PRONOUN_ONE.sub(r"\1 item", text)
    text = re.sub(r"\b(a|one)\s+and\s+a\s+half\b", "1.5", text, flags=re.IGNORECASE)
    text = re.sub(r"\bhalf\s+a(n)?\s+(second|minute)\b", r"0.5 \2", text, flags=re.IGNORECASE)
    text = re.sub(r"\ba\s+(second|minute|sec|min)\b(?!\s*(?:clip|one|segment|part|subtitle|caption))", r"1 \1", text)
    text = _EN_NUMBER.sub(_replace_english, text)
    text = _KO_NATIVE_NUMBER.sub(_replace_korean_native, text)
    text = _KO_SINO_NUMBER.sub(_replace_korean_sino, text)
    text = _KO_HALF_MINUTE.sub(r"\1분 30초", text)
    return text


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    return [float(value) for value in _NUMBER.findall(text)]
