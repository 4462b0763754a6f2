"""`RenderConfig` (the multipart `config` JSON of POST /render) parsed into dataclasses.

Lenient where the phone needs it (unknown keys ignored, explicit nulls mean "default"), strict
where ffmpeg would be hurt (every number finite, times ≥ 0, speeds > 0, colours `#RRGGBB`).
Every refusal is a `BadRequest` with a stable code; see docs/render.md for the list.
"""

import math
import re
from dataclasses import dataclass

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.json_input import JsonInputError, json_loads_strict

SEGMENT_TYPES = ("VIDEO", "IMAGE")
OUTPUT_KINDS = ("video", "audio")
QUALITIES = ("high", "medium", "low")
MIN_SPEED, MAX_SPEED = 0.0625, 16.0
MAX_VOLUME = 16.0
MAX_FRAME_SIDE = 4096
_COLOR = re.compile(r"^#?[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class DubClip:
    audio_file_key: str
    start_ms: int
    duration_ms: int = 0
    volume: float = 1.0


@dataclass(frozen=True)
class Segment:
    source_file_key: str
    type: str
    order: int
    duration_ms: int = 0
    trim_start_ms: int = 0
    trim_end_ms: int = 0  # 0 = to the end of the source
    width: int | None = None
    height: int | None = None
    image_x_pct: float | None = None
    image_y_pct: float | None = None
    image_width_pct: float | None = None
    image_height_pct: float | None = None
    volume_scale: float = 1.0
    speed_scale: float = 1.0


@dataclass(frozen=True)
class ImageClip:
    image_file_key: str
    start_ms: int
    end_ms: int
    x_pct: float
    y_pct: float
    width_pct: float
    height_pct: float


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    background_color_hex: str = "#000000"

    @property
    def ffmpeg_color(self) -> str:
        return "0x" + self.background_color_hex.lstrip("#").upper()


@dataclass(frozen=True)
class BgmClip:
    audio_file_key: str
    start_ms: int
    volume: float = 1.0
    speed: float = 1.0
    source_trim_start_ms: int = 0
    source_trim_end_ms: int = 0  # 0 = to the end of the file


@dataclass(frozen=True)
class StemSelection:
    stem_id: str
    audio_url: str
    volume: float = 1.0


@dataclass(frozen=True)
class SeparationDirective:
    id: str
    range_start_ms: int
    range_end_ms: int
    mute_original_segment_audio: bool
    selections: tuple[StemSelection, ...] = ()
    number_of_speakers: int | None = None


@dataclass(frozen=True)
class RenderConfig:
    dub_clips: tuple[DubClip, ...] = ()
    video_duration_ms: int | None = None
    segments: tuple[Segment, ...] = ()  # sorted by order; empty = legacy single-video mode
    image_clips: tuple[ImageClip, ...] = ()
    frame: Frame | None = None
    bgm_clips: tuple[BgmClip, ...] = ()
    audio_override_key: str | None = None
    separation_directives: tuple[SeparationDirective, ...] = ()
    output_language_code: str = "original"
    output_kind: str = "video"
    quality: str = "medium"

    @property
    def is_legacy(self) -> bool:
        return not self.segments

    def referenced_file_keys(self) -> dict[str, str]:
        """Every file part the config names → what it is used as (for the 'was it sent' check)."""
        keys: dict[str, str] = {}
        for segment in self.segments:
            keys[segment.source_file_key] = "segment_image" if segment.type == "IMAGE" else "segment_video"
        for clip in self.image_clips:
            keys[clip.image_file_key] = "sticker"
        for dub in self.dub_clips:
            keys[dub.audio_file_key] = "dub"
        for bgm in self.bgm_clips:
            keys[bgm.audio_file_key] = "bgm"
        if self.audio_override_key:
            keys[self.audio_override_key] = "audio_override"
        return keys


class _Reader:
    """Reads one JSON object with a path for error messages (`segments[1].trimStartMs`)."""

    def __init__(self, data, path: str):
        if not isinstance(data, dict):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{path or 'config'}: expected an object")
        self.data = data
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str):
        return self.data.get(key)

    def string(self, key: str, *, default: str | None = None, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)} is required")
            return default
        if not isinstance(value, str):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: expected a string")
        return value

    def number(self, key: str, *, default: float | None = None, required: bool = False) -> float | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)} is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: expected a number")
        if not math.isfinite(value):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: must be finite")
        return float(value)

    def integer(self, key: str, *, default: int | None = None, required: bool = False) -> int | None:
        value = self.number(key, default=None, required=required)
        if value is None:
            return default
        if value != int(value):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: expected an integer")
        return int(value)

    def time_ms(self, key: str, *, default: int | None = 0, required: bool = False) -> int | None:
        value = self.integer(key, default=default, required=required)
        if value is not None and value < 0:
            raise BadRequest(ErrorCode.NEGATIVE_TIME, f"{self._where(key)} must be >= 0 (got {value})")
        return value

    def volume(self, key: str) -> float:
        value = self.number(key, default=1.0)
        if value < 0 or value > MAX_VOLUME:
            raise BadRequest(
                ErrorCode.INVALID_VOLUME, f"{self._where(key)} must be between 0 and {MAX_VOLUME:g} (got {value})"
            )
        return value

    def speed(self, key: str) -> float:
        value = self.number(key, default=1.0)
        if not MIN_SPEED <= value <= MAX_SPEED:
            raise BadRequest(
                ErrorCode.INVALID_SPEED,
                f"{self._where(key)} must be between {MIN_SPEED:g} and {MAX_SPEED:g} (got {value})",
            )
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: expected true or false")
        return value

    def objects(self, key: str) -> list["_Reader"]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)}: expected a list")
        return [_Reader(item, f"{self._where(key)}[{index}]") for index, item in enumerate(value)]

    def file_key(self, key: str) -> str:
        value = self.string(key, required=True).strip()
        if not value:
            raise BadRequest(ErrorCode.INVALID_CONFIG, f"{self._where(key)} must not be blank")
        return value


def load_config_document(raw: str | bytes | None) -> dict:
    """The `config` form item as a JSON object; raises BadRequest config_required / invalid_config_json."""
    if raw is None or (isinstance(raw, str | bytes) and not raw.strip()):
        raise BadRequest(ErrorCode.CONFIG_REQUIRED, "config is required")
    try:
        document = json_loads_strict(raw)
    except JsonInputError as exc:
        raise BadRequest(ErrorCode.INVALID_CONFIG_JSON, f"config is not valid JSON: {exc}")
    if not isinstance(document, dict):
        raise BadRequest(ErrorCode.INVALID_CONFIG, "config must be a JSON object")
    return document


def parse_render_config(raw: str | bytes | None) -> RenderConfig:
    """Parses the `config` form item; raises BadRequest with a stable code."""
    return render_config_from_dict(load_config_document(raw))


def render_config_from_dict(document) -> RenderConfig:
    reader = _Reader(document, "")
    output_kind = reader.string("outputKind", default="video")
    if output_kind not in OUTPUT_KINDS:
        raise BadRequest(ErrorCode.INVALID_OUTPUT_KIND, f"outputKind must be 'video' or 'audio' (got {output_kind!r})")
    quality = reader.string("quality", default="medium")
    if quality not in QUALITIES:
        raise BadRequest(ErrorCode.INVALID_QUALITY, f"quality must be 'high', 'medium' or 'low' (got {quality!r})")
    video_duration_ms = reader.time_ms("videoDurationMs", default=None)
    if video_duration_ms == 0:
        video_duration_ms = None
    audio_override_key = reader.string("audioOverrideKey")
    if audio_override_key is not None and not audio_override_key.strip():
        audio_override_key = None
    return RenderConfig(
        dub_clips=tuple(_dub_clip(item) for item in reader.objects("dubClips")),
        video_duration_ms=video_duration_ms,
        segments=_segments(reader.objects("segments")),
        image_clips=tuple(_image_clip(item) for item in reader.objects("imageClips")),
        frame=_frame(reader.raw("frame")),
        bgm_clips=tuple(_bgm_clip(item) for item in reader.objects("bgmClips")),
        audio_override_key=audio_override_key,
        separation_directives=tuple(_directive(item) for item in reader.objects("separationDirectives")),
        output_language_code=reader.string("outputLanguageCode", default="original"),
        output_kind=output_kind,
        quality=quality,
    )


def _dub_clip(item: _Reader) -> DubClip:
    return DubClip(
        audio_file_key=item.file_key("audioFileKey"),
        start_ms=item.time_ms("startMs", required=True),
        duration_ms=item.time_ms("durationMs"),
        volume=item.volume("volume"),
    )


def _segments(items: list[_Reader]) -> tuple[Segment, ...]:
    segments = [_segment(item) for item in items]
    orders = sorted(segment.order for segment in segments)
    if len(set(orders)) != len(orders):
        raise BadRequest(ErrorCode.DUPLICATE_SEGMENT_ORDER, f"segments[].order values repeat: {orders}")
    if orders and orders != list(range(len(orders))):
        raise BadRequest(
            ErrorCode.SEGMENT_ORDER_GAP, f"segments[].order must be 0..{len(orders) - 1} without gaps: {orders}"
        )
    return tuple(sorted(segments, key=lambda segment: segment.order))


def _segment(item: _Reader) -> Segment:
    segment_type = item.string("type", required=True)
    if segment_type not in SEGMENT_TYPES:
        raise BadRequest(
            ErrorCode.INVALID_SEGMENT_TYPE, f"{item.path}.type must be 'VIDEO' or 'IMAGE' (got {segment_type!r})"
        )
    order = item.integer("order", required=True)
    if order < 0:
        raise BadRequest(ErrorCode.SEGMENT_ORDER_GAP, f"{item.path}.order must be >= 0 (got {order})")
    duration_ms = item.time_ms("durationMs")
    trim_start_ms = item.time_ms("trimStartMs")
    trim_end_ms = item.time_ms("trimEndMs")
    if segment_type == "VIDEO" and trim_end_ms and trim_end_ms <= trim_start_ms:
        raise BadRequest(
            ErrorCode.INVALID_TRIM_RANGE,
            f"{item.path}: trimEndMs ({trim_end_ms}) must be after trimStartMs ({trim_start_ms})",
        )
    if segment_type == "IMAGE" and not duration_ms:
        raise BadRequest(ErrorCode.INVALID_DURATION, f"{item.path}.durationMs must be > 0 for an IMAGE segment")
    width, height = item.integer("width"), item.integer("height")
    return Segment(
        source_file_key=item.file_key("sourceFileKey"),
        type=segment_type,
        order=order,
        duration_ms=duration_ms,
        trim_start_ms=trim_start_ms,
        trim_end_ms=trim_end_ms,
        width=width if width and width > 0 else None,
        height=height if height and height > 0 else None,
        image_x_pct=item.number("imageXPct"),
        image_y_pct=item.number("imageYPct"),
        image_width_pct=_optional_size_pct(item, "imageWidthPct"),
        image_height_pct=_optional_size_pct(item, "imageHeightPct"),
        volume_scale=item.volume("volumeScale"),
        speed_scale=item.speed("speedScale"),
    )


def _optional_size_pct(item: _Reader, key: str) -> float | None:
    value = item.number(key)
    if value is not None and not 0 < value <= 1000:
        raise BadRequest(ErrorCode.INVALID_PERCENT, f"{item.path}.{key} must be > 0 and <= 1000 (got {value})")
    return value


def _image_clip(item: _Reader) -> ImageClip:
    start_ms = item.time_ms("startMs", required=True)
    end_ms = item.time_ms("endMs", required=True)
    if end_ms <= start_ms:
        raise BadRequest(
            ErrorCode.INVALID_CLIP_RANGE, f"{item.path}: endMs ({end_ms}) must be after startMs ({start_ms})"
        )
    x_pct, y_pct = item.number("xPct", required=True), item.number("yPct", required=True)
    for key, value in (("xPct", x_pct), ("yPct", y_pct)):
        if not -1000 <= value <= 1000:
            raise BadRequest(
                ErrorCode.INVALID_PERCENT, f"{item.path}.{key} must be between -1000 and 1000 (got {value})"
            )
    width_pct, height_pct = _optional_size_pct(item, "widthPct"), _optional_size_pct(item, "heightPct")
    if width_pct is None or height_pct is None:
        raise BadRequest(ErrorCode.INVALID_CONFIG, f"{item.path}: widthPct and heightPct are required")
    return ImageClip(
        image_file_key=item.file_key("imageFileKey"),
        start_ms=start_ms,
        end_ms=end_ms,
        x_pct=x_pct,
        y_pct=y_pct,
        width_pct=width_pct,
        height_pct=height_pct,
    )


def _frame(raw) -> Frame | None:
    if raw is None:
        return None
    item = _Reader(raw, "frame")
    width, height = item.integer("width", required=True), item.integer("height", required=True)
    if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
        raise BadRequest(ErrorCode.INVALID_FRAME, f"frame must be between 1x1 and {MAX_FRAME_SIDE}x{MAX_FRAME_SIDE}")
    color = item.string("backgroundColorHex", default="#000000").strip()
    if not _COLOR.match(color):
        raise BadRequest(ErrorCode.INVALID_BACKGROUND_COLOR, "frame.backgroundColorHex must look like #RRGGBB")
    return Frame(width=width, height=height, background_color_hex="#" + color.lstrip("#"))


def _bgm_clip(item: _Reader) -> BgmClip:
    source_trim_start_ms = item.time_ms("sourceTrimStartMs")
    source_trim_end_ms = item.time_ms("sourceTrimEndMs")
    if source_trim_end_ms and source_trim_end_ms <= source_trim_start_ms:
        raise BadRequest(ErrorCode.INVALID_TRIM_RANGE, f"{item.path}: sourceTrimEndMs must be after sourceTrimStartMs")
    return BgmClip(
        audio_file_key=item.file_key("audioFileKey"),
        start_ms=item.time_ms("startMs", required=True),
        volume=item.volume("volume"),
        speed=item.speed("speed"),
        source_trim_start_ms=source_trim_start_ms,
        source_trim_end_ms=source_trim_end_ms,
    )


def _directive(item: _Reader) -> SeparationDirective:
    start_ms = item.time_ms("rangeStartMs", required=True)
    end_ms = item.time_ms("rangeEndMs", required=True)
    if end_ms <= start_ms:
        raise BadRequest(ErrorCode.INVALID_CLIP_RANGE, f"{item.path}: rangeEndMs ({end_ms}) must be after rangeStartMs")
    selections = tuple(
        StemSelection(
            stem_id=selection.string("stemId", default=""),
            audio_url=selection.file_key("audioUrl"),
            volume=selection.volume("volume"),
        )
        for selection in item.objects("selections")
    )
    raw_id = item.raw("id")
    return SeparationDirective(
        id="" if raw_id is None else str(raw_id),
        range_start_ms=start_ms,
        range_end_ms=end_ms,
        mute_original_segment_audio=item.boolean("muteOriginalSegmentAudio", default=False),
        selections=selections,
        number_of_speakers=item.integer("numberOfSpeakers"),
    )
