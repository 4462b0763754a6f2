"""SRT subtitles: a tolerant parser (BOM, CRLF, blank-line and separator variations) and a writer.

The parser keeps cues in file order with their own numbers (out-of-order and overlapping cues
are legal SRT and the user's choice); what cannot be read raises `SrtInvalid` (HTTP 400).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest

MAX_HOURS = 99

_TIMING = re.compile(r"^\s*(?P<start>\d+:\d+:\d+(?:[,.]\d+)?)\s*-->\s*(?P<end>\d+:\d+:\d+(?:[,.]\d+)?)(?:\s+.*)?$")
_TIMESTAMP = re.compile(r"^(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)(?:[,.](?P<ms>\d+))?$")
_INDEX = re.compile(r"^\s*\d+\s*$")


# C0/C1 control characters other than the line feed: never part of a subtitle (a NUL would end the
# text for some players and cannot be stored by Postgres). Tabs become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


_CONTROL_IN_FILE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def srt_bytes_clean(raw: bytes) -> bytes:
    """An uploaded SRT as the user wrote it (BOM, line ends, layout kept), control characters removed."""
    return _CONTROL_IN_FILE.sub("", raw.decode("utf-8")).encode("utf-8")


def cue_text_clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))


class SrtInvalid(BadRequest, code=ErrorCode.INVALID_SRT): ...


@dataclass(frozen=True)
class Cue:
    index: int
    start_ms: int
    end_ms: int
    text: str


def timestamp_parse(value: str, *, line_number: int) -> int:
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise SrtInvalid(detail=f"line {line_number}: bad timestamp {value!r}")
    hours, minutes, seconds = int(match["h"]), int(match["m"]), int(match["s"])
    if hours > MAX_HOURS:
        raise SrtInvalid(detail=f"line {line_number}: hours must be at most {MAX_HOURS} (got {hours})")
    if minutes > 59 or seconds > 59:
        raise SrtInvalid(detail=f"line {line_number}: minutes and seconds must be below 60 in {value!r}")
    fraction = match["ms"] or "0"
    if len(fraction) > 3:
        raise SrtInvalid(detail=f"line {line_number}: milliseconds take at most 3 digits in {value!r}")
    milliseconds = int(fraction.ljust(3, "0"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + milliseconds


def timestamp_format(milliseconds: int) -> str:
    if milliseconds < 0:
        raise ValueError("negative timestamp")
    seconds, ms = divmod(int(milliseconds), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours > MAX_HOURS:
        raise ValueError(f"timestamp beyond {MAX_HOURS} hours")
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{ms:03d}"


def srt_decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) to text; anything else is not an SRT we accept."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SrtInvalid(detail=f"SRT must be UTF-8 text (invalid byte at offset {exc.start})")


def srt_parse(text: str) -> list[Cue]:
    """Cues in file order. Raises SrtInvalid with the offending line number, or when there is no cue."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    position = 0
    total = len(lines)

    def is_timing(at: int) -> bool:
        return at < total and bool(_TIMING.match(lines[at]))

    def starts_cue(at: int) -> bool:
        return is_timing(at) or (bool(_INDEX.match(lines[at])) and is_timing(at + 1))

    while position < total:
        if not lines[position].strip():
            position += 1
            continue
        line_number = position + 1
        if _INDEX.match(lines[position]) and is_timing(position + 1):
            index = int(lines[position])
            position += 1
        elif is_timing(position):
            # A cue without its number: tolerated, numbered after the previous one.
            index = (cues[-1].index + 1) if cues else 1
        else:
            raise SrtInvalid(detail=f"line {line_number}: expected a cue number or a timing line")
        timing = _TIMING.match(lines[position])
        assert timing is not None  # is_timing(position) held on every path here
        start_ms = timestamp_parse(timing["start"], line_number=position + 1)
        end_ms = timestamp_parse(timing["end"], line_number=position + 1)
        if end_ms < start_ms:
            raise SrtInvalid(detail=f"line {position + 1}: cue {index} ends before it starts")
        position += 1
        text_lines: list[str] = []
        while position < total and lines[position].strip() and not starts_cue(position):
            text_lines.append(lines[position].rstrip())
            position += 1
        cues.append(Cue(index=index, start_ms=start_ms, end_ms=end_ms, text="\n".join(text_lines)))
    if not cues:
        raise SrtInvalid(detail="no subtitle cues found")
    return cues


def srt_parse_bytes(raw: bytes) -> list[Cue]:
    cues = srt_parse(srt_decode(raw))
    return [
        Cue(index=cue.index, start_ms=cue.start_ms, end_ms=cue.end_ms, text=cue_text_clean(cue.text)) for cue in cues
    ]


def srt_write(cues: Iterable[Cue]) -> str:
    """SRT text with `,` millisecond separators, LF line ends and a blank line after every cue."""
    blocks = []
    for cue in cues:
        text = "\n".join(line.rstrip() for line in cue_text_clean(cue.text).split("\n") if line.strip())
        blocks.append(f"{cue.index}\n{timestamp_format(cue.start_ms)} --> {timestamp_format(cue.end_ms)}\n{text}\n")
    return "\n".join(blocks)
