"""Request text made regular before it is read: Unicode forms, case, quotes, light typos,
number words as digits, and the request split into ordered clauses ("then", "그리고", "~하고")."""

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

from apps.chat.understanding.numbers import words_to_digits

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_QUOTE = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|「([^」]+)」|『([^』]+)』|(?<![a-z])'([^']+)'(?![a-z])", re.IGNORECASE
)

# Words the resolvers look for; an unknown word within a typo or two of one of them is read as it.
_VOCABULARY = (
    "subtitles subtitle captions caption separate separation volume music speed delete remove duplicate "
    "seconds second minutes minute quieter louder faster slower background speaker dubbing transcribe "
    "script lyrics segment clip trim mute percent japanese korean english chinese spanish french german "
    "please lower increase decrease voice vocals double twice half selected selection twice previous "
    "first third fourth fifth last beginning middle ending move shift start translate reduce change "
    "replace copy repeat section portion audio sound track song video slowly quickly"
).split()
_COMMON = set(
    "there their these those where which while would could should about after before other under again "
    "every after words thing things still start world great right light night might cause maybe video "
    "thanks thank hello sorry think sounds little really review without reviewing apply looks script "
    "skipping asking exactly instead rather louder softer faster slower voices speakers person people "
    "second seconds minute minutes clips third until secs title titles".split()
)
_TYPOS = {
    "seperate": "separate",
    "seprate": "separate",
    "seperation": "separation",
    "volumn": "volume",
    "vol": "volume",
    "subs": "subtitles",
    "sub": "subtitle",
    "secs": "seconds",
    "sec": "seconds",
    "mins": "minutes",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "thx": "thanks",
    "ty": "thanks",
    "bg": "background",
    "dupe": "duplicate",
    "dup": "duplicate",
    "del": "delete",
}
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SPLITTERS = re.compile(
    r"(?:(?<=[.;!?])\s+|\n+|,?\s*\b(?:and\s+then|and\s+after\s+that|then|after\s+that|afterwards|after\s+which|"
    r"next|finally|lastly|and\s+also|also|plus|as\s+well\s+as)\b\s*,?|,\s+(?:and\s+)?|\s+and\s+|\s*&\s*|"
    r"\s*(?:그리고|그\s*다음(?:에|으로)?|그\s*후(?:에)?|그\s*뒤(?:에)?|그러고\s*나서|그런\s*다음(?:에)?|다음으로|이어서|또한?|끝나면|그담에|담에)\s+|"
    r"(?<=[가-힣])(?:이랑|랑)\s+|"
    r"(?<=[가-힣])(?<![라다])(?:고\s*나서|고서|고|한\s*(?:다음|후|뒤)에?|은\s*(?:다음|후|뒤)에?|ㄴ\s*다음에?|고\s*난\s*(?:다음|후|뒤)에?|면서|며)\s+|"
    r"(?<=[가-힣])(?<!초)(?<!분)\s+(?:다음에|후에|뒤에)\s+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    original: str  # as typed (quotes and case kept), for verbatim subtitle text
    text: str  # normalised: lower-case, typos fixed, numbers as digits
    borrowed: str = ""  # normalised text of the clause whose verb and value this one shares, if any


def is_korean(text: str) -> bool:
    return bool(_HANGUL.search(text or ""))


def quotes(text: str) -> list[str]:
    return [next(group for group in match.groups() if group is not None) for match in _QUOTE.finditer(text)]


def _fix_word(match: re.Match) -> str:
    return _fixed(match.group(0))


@functools.lru_cache(maxsize=8192)
def _fixed(word: str) -> str:
    if word in _TYPOS:
        return _TYPOS[word]
    if len(word) < 5 or word in _COMMON or word in _VOCABULARY:
        return word
    if any(word.startswith(known[: max(4, len(known) - 2)]) for known in _VOCABULARY):
        return word  # an inflection ("separated", "muted"), not a typo
    close = difflib.get_close_matches(word, _VOCABULARY, n=1, cutoff=0.84)
    return close[0] if close else word


@functools.lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    # NFC, not NFKC: NFKC would turn compatibility jamo ("ㅇㅇ", "ㅎㅇ") into conjoining ones.
    text = unicodedata.normalize("NFC", text or "").translate(_FULLWIDTH).lower()
    text = text.replace("’", "'").replace("×", "x").replace("–", "-").replace("—", "-").replace("～", "~")
    text = re.sub(r"\bw/o\b", "without", text)
    text = re.sub(r"[a-z]+", _fix_word, text)
    text = words_to_digits(text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _mask_quotes(text: str) -> tuple[str, list[str]]:
    saved: list[str] = []

    def keep(match: re.Match) -> str:
        saved.append(match.group(0))
        return f"\x00{len(saved) - 1}\x00"

    return _QUOTE.sub(keep, text), saved


def _unmask(text: str, saved: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda match: saved[int(match.group(1))], text)


MAX_REQUEST_CHARS = 1000
MAX_CLAUSES = 12
_SRT_BLOCK = re.compile(r"(?m)^\s*\d+\s*\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{3}\s*-->")


def split_clauses(text: str) -> list[tuple[str, str]]:
    """The request cut at every clause boundary, as (separator before, piece) pairs; quoted text and
    a pasted SRT are never cut. Pieces may be joined again (with their separator) by the caller.
    Only the first MAX_REQUEST_CHARS of the instruction and MAX_CLAUSES clauses are read, so a
    huge message costs no more than a long one."""
    text = text.strip()
    srt = _SRT_BLOCK.search(text)
    tail = ""
    if srt:
        text, tail = text[: srt.start()], text[srt.start() :]
    text = text[:MAX_REQUEST_CHARS]
    masked, saved = _mask_quotes(text)
    masked = re.sub(r"(\d)\.(\d)", lambda match: f"{match.group(1)}\x01{match.group(2)}", masked)
    masked = re.sub(
        r"\b((?:first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th)?)),?\s+(and|or|&)\s+(?=(?:the\s+)?"
        r"(?:first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th)?)\b(?!\s*(?:s\b|sec|seconds?|초|%)))",
        lambda match: f"{match.group(1)} \x02 ",
        masked,
        flags=re.IGNORECASE,
    )
    masked = re.sub(
        r"\b(between|from)\s+(\S+)\s+and\s+",
        lambda match: f"{match.group(1)} {match.group(2)} \x02 ",
        masked,
        flags=re.IGNORECASE,
    )
    pairs, cursor, separator = [], 0, ""
    for match in _SPLITTERS.finditer(masked):
        piece = masked[cursor : match.start()]
        if piece.strip(" ,"):
            pairs.append((separator, piece))
            separator = match.group(0)
        else:
            separator += match.group(0)
        cursor = match.end()
    if masked[cursor:].strip(" ,") or not pairs:
        pairs.append((separator, masked[cursor:]))

    def restore(value: str) -> str:
        return _unmask(value, saved).replace("\x01", ".").replace("\x02", "and")

    restored = [(restore(sep), restore(piece).strip(" ,")) for sep, piece in pairs[:MAX_CLAUSES]]
    if tail:
        sep, piece = restored[-1]
        restored[-1] = (sep, f"{piece}\n{tail}")
    return restored


def raw_clauses(text: str) -> list[str]:
    return [piece for _, piece in split_clauses(text)]


def clause(original: str, borrowed: str = "") -> Clause:
    return Clause(original=original, text=normalize(original), borrowed=borrowed)
