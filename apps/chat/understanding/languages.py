"""Language names (English and Korean, light typos) and codes in a request, with their role:
the language something is made IN (target: "into Japanese", "일본어로") or the language it is
spoken in (source: "from Korean", "한국어 영상을")."""

import difflib
import re
from dataclasses import dataclass

from apps.chat.understanding.cues import Roles, around

# code → English names, Korean names (longest first matters only for overlapping Korean names)
LANGUAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("english", "eng"), ("영어", "영문", "잉글리시")),
    "ko": (("korean",), ("한국어", "한국말", "한글", "국문")),
    "ja": (("japanese", "jp"), ("일본어", "일어", "일본말", "일문")),
    "zh": (("chinese", "mandarin"), ("중국어", "중국말", "중문")),
    "es": (("spanish", "espanol", "español"), ("스페인어",)),
    "fr": (("french",), ("프랑스어", "불어", "프랑스말")),
    "de": (("german",), ("독일어",)),
    "it": (("italian",), ("이탈리아어", "이태리어")),
    "pt": (("portuguese",), ("포르투갈어",)),
    "ru": (("russian",), ("러시아어",)),
    "vi": (("vietnamese",), ("베트남어",)),
    "th": (("thai",), ("태국어",)),
    "id": (("indonesian",), ("인도네시아어",)),
    "ar": (("arabic",), ("아랍어",)),
    "hi": (("hindi",), ("힌디어",)),
    "tr": (("turkish",), ("터키어", "튀르키예어")),
    "nl": (("dutch",), ("네덜란드어",)),
    "pl": (("polish",), ("폴란드어",)),
}
# Codes read on their own only where they cannot be an ordinary word ("it", "id", "hi" are left out).
_SAFE_CODES = {"en", "ko", "ja", "zh", "es", "fr", "de", "pt", "ru", "vi", "th", "ar", "tr", "nl", "pl"}
_ENGLISH_NAMES = {name: code for code, (names, _) in LANGUAGES.items() for name in names}
_KOREAN_NAMES = sorted(
    ((name, code) for code, (_, names) in LANGUAGES.items() for name in names), key=lambda item: -len(item[0])
)
_WORD = re.compile(r"[a-zñ]+")
# What a language mention is, by the words around it: the language to make (target) or the one spoken.
_ROLES = Roles(
    ("target", r"(?:into|to|in)\s+(?:\w+\s+)?", r"으로|로|버전|자막으로|더빙으로|음성으로"),
    (
        "source",
        r"from\s+(?:the\s+)?",
        r"에서|를|을|인|영상|음성을|대사를|로\s*된|로\s*말하는|원본|audio|video|speech|original|source|spoken",
    ),
)


@dataclass(frozen=True)
class LanguageMention:
    code: str
    position: int
    role: str  # "target", "source" or "unknown"


def _fuzzy_english(word: str) -> str | None:
    if len(word) < 5:
        return None
    match = difflib.get_close_matches(word, _ENGLISH_NAMES, n=1, cutoff=0.8)
    return _ENGLISH_NAMES[match[0]] if match else None


def language_mentions(text: str) -> list[LanguageMention]:
    """Languages named in `text` (lower-case), in order of appearance."""
    found: list[tuple[int, int, str]] = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        code = _ENGLISH_NAMES.get(word)
        if (
            code is None
            and word in _SAFE_CODES
            and (
                re.search(r"[,:/(\[]|\b(?:and|in|to|into|from)\s*$|^\s*$", text[: match.start()][-8:] or " ")
                or re.search(r"(?:subtitles?|subs|captions?|dub|자막|더빙)\s*$", text[: match.start()])
                or (found and not text[found[-1][1] : match.start()].strip(" ,"))
            )
        ):
            code = word
        if code is None and word not in {"english", "engine"}:
            code = _fuzzy_english(word)
        if code:
            found.append((match.start(), match.end(), code))
    taken = [False] * len(text)
    for name, code in _KOREAN_NAMES:
        for match in re.finditer(re.escape(name), text):
            if any(taken[match.start() : match.end()]):
                continue
            for index in range(match.start(), match.end()):
                taken[index] = True
            found.append((match.start(), match.end(), code))
    found.sort()
    mentions = []
    for start, end, code in found:
        before, after = around(text, start, end, before=20, after=12)
        role = _ROLES.of(before, after) or "unknown"
        mentions.append(LanguageMention(code, start, role))
    return mentions


def split_languages(text: str) -> tuple[list[str], str | None]:
    """(target codes in order, source code or None). With one language named, it is the target unless
    it is clearly the source; with several, the ones marked as source are the source."""
    found = language_mentions(text)
    if not found:
        return [], None
    sources = [mention.code for mention in found if mention.role == "source"]
    targets = [mention.code for mention in found if mention.role != "source"]
    if not targets and sources:
        if len(sources) == 1 and not re.search(r"\bfrom\b|에서", text):
            return sources, None
        targets, sources = sources[1:], sources[:1]
    source = sources[0] if sources else None
    targets = [code for code in dict.fromkeys(targets) if code != source] or list(dict.fromkeys(targets))
    return targets, source


def language_name(code: str, language: str) -> str:
    names = LANGUAGES.get(code)
    if not names:
        return code
    if language == "ko":
        return names[1][0]
    return names[0][0].capitalize()
