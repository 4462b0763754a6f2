"""Volume and speed multipliers from a (normalised, digits-only) request.

Volume: "mute", "30%", "to 30%" (absolute), "by 20%" / "20% 더" (relative), "0.3", "-6 dB",
"half", "twice as loud", "louder" / "a bit quieter" (relative to the current value).
Speed: "2x", "0.5배", "twice as fast", "half speed", "slow motion", "20% faster", "faster".
"""

import re

from apps.chat.understanding.cues import around, cue

VOLUME_MIN, VOLUME_MAX = 0.0, 2.0
SPEED_MIN, SPEED_MAX = 0.25, 4.0

_A_BIT = re.compile(r"\b(?:a\s+(?:bit|little|tad)|slightly|little|bit|somewhat)\b|조금|살짝|약간|좀\s*만|조금만|살짝만")
_A_LOT = re.compile(
    r"\b(?:a\s+lot|much|way|lots|really|very|significantly|a\s+ton)\b|많이|확|훨씬|크게\s*많이|아주|매우|엄청"
)
_LOUDER = re.compile(
    r"\b(?:louder|increase|raise|boost|turn\s+(?:it\s+)?up|up\b|amplify|more\s+audible|bump|pump|higher|stronger)"
    r"|키워|키우|크게|높여|높이|올려|올리|증폭|세게|키워줘|강하게|잘\s*들리|또렷|선명|\bclearer|\bcrisper"
)
_QUIETER = re.compile(
    r"\b(?:quieter|quiet|softer|lower|decrease|reduce|turn\s+(?:it\s+)?down|down\b|less\s+loud|lessen|dim|weaker|"
    r"tone\s+down|duck|fade)|줄여|줄이|작게|낮춰|낮추|내려|내리|조용|약하게|잔잔"
)
_MUTE = re.compile(
    r"\b(?:mute|silence|silent|no\s+sound|turn\s+off|switch\s+off|kill)\b|음소거|무음|소리\s*(?:를\s*)?(?:없애|꺼|끄|빼|제거|0(?![.\d]))|"
    r"꺼\s*줘|꺼\s*주|꺼줘|끄고|꺼버|끄\s*$|꺼\s*$|끄기|들리지\s*않게|안\s*들리게"
)
_UNMUTE = re.compile(
    r"\bunmute|\b(?:original|normal|default|full)\s+(?:volume|level|loudness)|\brestore|\bback\s+to\s+normal|"
    r"음소거\s*(?:를\s*)?(?:해제|풀어|취소)|원래\s*(?:볼륨|소리|음량|대로)|원상\s*복구|100\s*(?:%|퍼센트|프로)"
)
_SET_VOLUMES = ((_UNMUTE, 1.0), (_MUTE, 0.0))  # the first that fits wins: "unmute" holds "mute"
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per\s+cent|퍼센트|프로)")
_DB = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(?:db|데시벨|decibels?)")
_RELATIVE = cue(before=r"\bby", after=r"만큼|정도\s*더|더|more|less|louder|quieter|softer|lower|higher|down|up")
_ABSOLUTE_TO = re.compile(r"(?:to|at|=)\s*$|^\s*(?:로|으로|까지|에|정도로|수준으로)")
_FACTOR = re.compile(r"(\d+(?:\.\d+)?)\s*(?:배|x(?![a-z])|times)|(?:x|×)\s*(\d+(?:\.\d+)?)")
_BARE = re.compile(
    r"(?<![\d.:])(\d+(?:\.\d+)?)(?![\d.:]|\s*(?:초|분|s\b|sec|min|ms|%|퍼센트|프로|db|데시벨|배|x\b|times|번|st\b|nd\b|rd\b|th\b))"
)
_VOLUME_MULTIPLES = (
    (re.compile(r"\bhalf\b|절반|반으로|반만|반\s*정도|반쯤"), 0.5),
    (re.compile(r"\b(?:double|twice)\b"), 2.0),
)
_MAX = re.compile(r"\b(?:max(?:imum)?|as\s+loud\s+as\s+possible|full\s+blast)\b|최대|최고|맥스")


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(high, max(low, value)), 3)


def _named(table: tuple[tuple[re.Pattern[str], float], ...], text: str) -> float | None:
    """The value of the first pattern in `table` that `text` contains."""
    return next((value for pattern, value in table if pattern.search(text)), None)


def _factor(text: str, *, shrinking: bool) -> float | None:
    """A multiple ("2x", "x2", "2배", "3 times"), read as 1/N when the request makes things smaller."""
    factor = _FACTOR.search(text)
    if not factor:
        return None
    value = float(factor.group(1) or factor.group(2))
    return 1 / value if shrinking and value > 1 else value


def _nudge(text: str, direction: int, *, a_lot: tuple[float, float], plain: tuple[float, float]) -> float:
    """The multiplier for a change with no number ("louder", "a bit slower", "much quieter"): (up, down)
    by how much the words say."""
    up, down = (1.25, 0.75) if _A_BIT.search(text) else a_lot if _A_LOT.search(text) else plain
    return up if direction > 0 else down


_TOO_LOUD = re.compile(r"too\s+loud|too\s+much|너무\s*(?:커|크|시끄|세)|시끄러")
_TOO_QUIET = re.compile(
    r"too\s+(?:quiet|soft|low)|can'?t\s+hear|barely\s+(?:hear|audible)|안\s*들려|너무\s*작|잘\s*안\s*들"
)


def _direction(text: str) -> int:
    """+1 louder / faster words, -1 quieter / slower, 0 none."""
    if _TOO_LOUD.search(text):
        return -1
    if _TOO_QUIET.search(text):
        return 1
    quieter, louder = bool(_QUIETER.search(text)), bool(_LOUDER.search(text))
    if quieter and not louder:
        return -1
    if louder and not quieter:
        return 1
    return 0


def volume_scale(text: str, current: float = 1.0) -> float | None:
    """The volume multiplier the request asks for, or None when it names no volume change."""
    current = 1.0 if current is None else current
    named = _named(_SET_VOLUMES, text)
    if named is not None:
        return named
    decibels = _DB.search(text)
    if decibels:
        value = float(decibels.group(1))
        if not decibels.group(1).startswith(("+", "-")) and _direction(text) < 0:
            value = -value
        return _clamp(current * 10 ** (value / 20), VOLUME_MIN, VOLUME_MAX)
    percent = _PERCENT.search(text)
    if percent:
        value = float(percent.group(1)) / 100
        before, after = around(text, percent.start(), percent.end(), before=6, after=8)
        direction = _direction(text)
        relative = _RELATIVE.fits(before, after)
        if not relative and direction and not _ABSOLUTE_TO.search(before) and not _ABSOLUTE_TO.match(after):
            relative = bool(re.search(r"[가-힣]", text))  # "30% 줄여" reads as "by 30%" in Korean
        if relative and direction:
            return _clamp(current * (1 + direction * value), VOLUME_MIN, VOLUME_MAX)
        return _clamp(value, VOLUME_MIN, VOLUME_MAX)
    factor = _factor(text, shrinking=_direction(text) < 0)
    if factor is not None:
        return _clamp(current * factor, VOLUME_MIN, VOLUME_MAX)
    if _MAX.search(text):
        return VOLUME_MAX
    multiple = _named(_VOLUME_MULTIPLES, text)
    if multiple is not None:
        return _clamp(current * multiple, VOLUME_MIN, VOLUME_MAX)
    bare = [
        float(match.group(1))
        for match in _BARE.finditer(text)
        if re.search(
            r"(?:volume|level|gain|vocals?|voices?|music|bgm|song|track|background|speaker\s*\d|볼륨|음량|소리|음악|보컬|목소리|배경음|브금|노래|to|at|=)"
            r"\s*(?:to\s+|를\s*|을\s*|은\s*|는\s*)?$",
            text[: match.start()][-16:],
        )
        or re.match(r"\s*(?:로|으로)", text[match.end() :])
    ]
    if bare:
        value = bare[-1]
        if value <= VOLUME_MAX:
            return _clamp(value, VOLUME_MIN, VOLUME_MAX)
        if value <= 200:
            return _clamp(value / 100, VOLUME_MIN, VOLUME_MAX)
    direction = _direction(text)
    if direction:
        return _clamp(current * _nudge(text, direction, a_lot=(2.0, 0.25), plain=(1.5, 0.5)), VOLUME_MIN, VOLUME_MAX)
    return None


_NORMAL_SPEED = re.compile(
    r"\b(?:normal|original|regular|default|real)[\s-]*(?:speed|time|pace)|\b1x\b|원래\s*(?:속도|대로)|정상\s*속도|보통\s*속도|1\s*배속"
)
_NAMED_SPEEDS = (
    (
        re.compile(
            r"half[\s-]*(?:speed|as\s+fast|the\s+speed|pace)|(?:절반|반)\s*(?:속도|배속|으로\s*느리)|속도\s*(?:를\s*)?(?:절반|반)"
        ),
        0.5,
    ),
    (
        re.compile(
            r"(?:double|twice)\s*(?:the\s+)?(?:speed|as\s+fast|pace)|(?:speed|pace)\s+x?\s*2|두\s*배\s*(?:빠르|속)"
        ),
        2.0,
    ),
    (re.compile(r"slow[\s-]*mo(?:tion)?|slowmo|슬로\s*우?\s*모션|슬로모|슬로우"), 0.5),
    (re.compile(r"time[\s-]*lapse|타임\s*랩스"), 4.0),
)
_FASTER = re.compile(
    r"\b(?:faster|speed\s+(?:it\s+)?up|sped\s+up|quicker|hurry|accelerate|rush)|빠르게|빨리|빠르|빨라|빨르게|가속|속도\s*(?:를\s*)?(?:올|높|키)"
)
_SLOWER = re.compile(
    r"\b(?:slower|slow\s+(?:it\s+)?down|slowly|decelerate)|느리게|느리|천천히|느려|감속|속도\s*(?:를\s*)?(?:줄|낮|내)"
)


def speed_scale(text: str, current: float = 1.0) -> float | None:
    """The speed multiplier the request asks for, or None when it names no speed."""
    current = 1.0 if not current else current
    if _NORMAL_SPEED.search(text):
        return 1.0
    faster, slower = bool(_FASTER.search(text)), bool(_SLOWER.search(text))
    percent = _PERCENT.search(text)
    if percent:
        value = float(percent.group(1)) / 100
        if faster and not slower:
            return _clamp(current * (1 + value), SPEED_MIN, SPEED_MAX)
        if slower and not faster:
            return _clamp(current * (1 - value), SPEED_MIN, SPEED_MAX)
        return _clamp(value, SPEED_MIN, SPEED_MAX)
    factor = _factor(text, shrinking=slower and not faster)
    if factor is not None:
        return _clamp(factor, SPEED_MIN, SPEED_MAX)
    named = _named(_NAMED_SPEEDS, text)
    if named is not None:
        return named
    bare = [float(value) for value in _BARE.findall(text) if SPEED_MIN <= float(value) <= SPEED_MAX]
    if bare and re.search(r"speed|속도|배속|rate|pace", text):
        return _clamp(bare[-1], SPEED_MIN, SPEED_MAX)
    if faster != slower:
        direction = 1 if faster else -1
        return _clamp(current * _nudge(text, direction, a_lot=(2.0, 0.5), plain=(2.0, 0.5)), SPEED_MIN, SPEED_MAX)
    return None
