"""`RenderConfig` (the multipart `config` JSON of POST /render): the serializers that validate it and
that the schema shows, and the dataclasses they build.

Lenient where the phone needs it (unknown keys ignored, explicit nulls mean "default"), strict
where ffmpeg would be hurt (every number finite, times ≥ 0, speeds > 0, colours `#RRGGBB`).
Every refusal is a `BadRequest` with a stable code and says where (`segments[1].trimStartMs ...`);
see docs/render.md for the list.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from apps.core.error_codes import ErrorCode
from apps.core.serializers import ContractField, JsonFormItemSerializer, RequestSerializer, refusal

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


# --- fields: JSON types checked strictly, absent and null mean the default ---------------------------------


class _ConfigField(ContractField):
    """`default` for absent or null unless `required`; the schema shows the DRF base class."""

    def __init__(self, *, default=None, required: bool = False, schema_required: bool | None = None, **kwargs):
        self.value_default, self.value_required = default, required
        schema_required = required if schema_required is None else schema_required
        if default is not None and not schema_required:
            kwargs["default"] = default
        super().__init__(required=schema_required, **kwargs)

    def parse(self, value):
        if value is None:
            if self.value_required:
                self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name} is required")
            return self.value_default
        return self.checked(value)

    def checked(self, value):
        return value


class ConfigStringField(_ConfigField, serializers.CharField):
    def checked(self, value):
        if not isinstance(value, str):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: expected a string")
        return value


class FileKeyField(ConfigStringField):
    """The name of a part sent with the request (or a stem URL); required, not blank."""

    def __init__(self, **kwargs):
        super().__init__(required=True, **kwargs)

    def checked(self, value):
        value = super().checked(value).strip()
        if not value:
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name} must not be blank")
        return value


class ConfigNumberField(_ConfigField, serializers.FloatField):
    def checked(self, value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: expected a number")
        if not math.isfinite(value):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: must be finite")
        return float(value)


class ConfigIntegerField(_ConfigField, serializers.IntegerField):
    def checked(self, value):
        value = ConfigNumberField.checked(self, value)
        if value != int(value):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: expected an integer")
        return int(value)


class TimeMsField(ConfigIntegerField):
    """Milliseconds, >= 0 (0 when absent unless told otherwise)."""

    def __init__(self, *, default: int | None = 0, **kwargs):
        kwargs.setdefault("min_value", 0)
        super().__init__(default=default, **kwargs)

    def checked(self, value):
        value = super().checked(value)
        if value < 0:
            self.refuse(ErrorCode.NEGATIVE_TIME, f"{self.field_name} must be >= 0 (got {value})")
        return value


class VolumeField(ConfigNumberField):
    def __init__(self, **kwargs):
        super().__init__(default=1.0, min_value=0, max_value=MAX_VOLUME, **kwargs)

    def checked(self, value):
        value = super().checked(value)
        if value < 0 or value > MAX_VOLUME:
            self.refuse(
                ErrorCode.INVALID_VOLUME, f"{self.field_name} must be between 0 and {MAX_VOLUME:g} (got {value})"
            )
        return value


class SpeedField(ConfigNumberField):
    def __init__(self, **kwargs):
        super().__init__(default=1.0, min_value=MIN_SPEED, max_value=MAX_SPEED, **kwargs)

    def checked(self, value):
        value = super().checked(value)
        if not MIN_SPEED <= value <= MAX_SPEED:
            self.refuse(
                ErrorCode.INVALID_SPEED,
                f"{self.field_name} must be between {MIN_SPEED:g} and {MAX_SPEED:g} (got {value})",
            )
        return value


class SizePercentField(ConfigNumberField):
    """> 0 and <= 1000 (% of the frame), or null."""

    def __init__(self, **kwargs):
        super().__init__(max_value=1000, **kwargs)

    def checked(self, value):
        value = super().checked(value)
        if not 0 < value <= 1000:
            self.refuse(ErrorCode.INVALID_PERCENT, f"{self.field_name} must be > 0 and <= 1000 (got {value})")
        return value


class PositionPercentField(ConfigNumberField):
    """-1000..1000 (% of the frame, checked by the object once both are read); required."""

    def __init__(self, **kwargs):
        super().__init__(required=True, min_value=-1000, max_value=1000, **kwargs)


class ConfigBooleanField(_ConfigField, serializers.BooleanField):
    def checked(self, value):
        if not isinstance(value, bool):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: expected true or false")
        return value


class ConfigChoiceField(_ConfigField, serializers.ChoiceField):
    """One of `choices` (a string), refused with `code`."""

    def __init__(self, choices, *, code: ErrorCode, **kwargs):
        self.refusal_code = code
        super().__init__(choices=choices, **kwargs)

    def checked(self, value):
        value = ConfigStringField.checked(self, value)
        if value not in self.choices:
            names = [f"'{choice}'" for choice in self.choices]
            allowed = ", ".join(names[:-1]) + " or " + names[-1]
            self.refuse(self.refusal_code, f"{self.field_name} must be {allowed} (got {value!r})")
        return value


class ColorField(_ConfigField, serializers.RegexField):
    """`#RRGGBB` (the `#` optional); black when absent."""

    def __init__(self, **kwargs):
        super().__init__(regex=_COLOR.pattern, default="#000000", **kwargs)

    def checked(self, value):
        value = ConfigStringField.checked(self, value).strip()
        if not _COLOR.match(value):
            self.refuse(ErrorCode.INVALID_BACKGROUND_COLOR, f"{self.field_name} must look like #RRGGBB")
        return "#" + value.lstrip("#")


class ObjectsField(ContractField, serializers.ListField):
    """A list of `child` objects; absent or null is none."""

    def __init__(self, child, **kwargs):
        super().__init__(child=child, required=False, **kwargs)

    def parse(self, value):
        if value is None:
            return ()
        if not isinstance(value, list):
            self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}: expected a list")
        for index, item in enumerate(value):  # every item an object before any item is read
            if not isinstance(item, Mapping):
                self.refuse(ErrorCode.INVALID_CONFIG, f"{self.field_name}[{index}]: expected an object")
        return tuple(serializers.ListField.run_validation(self, value))


class _ConfigObject(RequestSerializer):
    # One object of the config; a refusal inside says where (a comment: see RequestSerializer).

    error_code = ErrorCode.INVALID_CONFIG
    error_paths = True

    def run_validation(self, data=empty):
        absent = data is empty or (data is None and self.allow_null)
        if not absent and not isinstance(data, Mapping):
            self.refuse(ErrorCode.INVALID_CONFIG, "expected an object")
        return super().run_validation(data)


# --- the objects ---------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="DubClipSchema")
class DubClipSerializer(_ConfigObject):
    builds = DubClip

    audioFileKey = FileKeyField(help_text="`audio_<i>`: a part sent with the request")
    startMs = TimeMsField(required=True)
    durationMs = TimeMsField(help_text="0 = the whole clip")
    volume = VolumeField()


@extend_schema_serializer(component_name="SegmentSchema")
class SegmentSerializer(_ConfigObject):
    builds = Segment

    type = ConfigChoiceField(SEGMENT_TYPES, code=ErrorCode.INVALID_SEGMENT_TYPE, required=True)
    order = ConfigIntegerField(required=True, min_value=0)
    durationMs = TimeMsField()
    trimStartMs = TimeMsField(allow_null=True)
    trimEndMs = TimeMsField(allow_null=True, help_text="0 = to the end")
    width = ConfigIntegerField(allow_null=True, help_text="<= 0 = the source's")
    height = ConfigIntegerField(allow_null=True)
    sourceFileKey = FileKeyField(help_text="`video_<order>` or `segment_image_<order>`")
    imageXPct = ConfigNumberField(allow_null=True)
    imageYPct = ConfigNumberField(allow_null=True)
    imageWidthPct = SizePercentField(allow_null=True)
    imageHeightPct = SizePercentField(allow_null=True)
    volumeScale = VolumeField()
    speedScale = SpeedField()

    def validate_order(self, order):
        if order < 0:
            raise refusal(ErrorCode.SEGMENT_ORDER_GAP, f"order must be >= 0 (got {order})")
        return order

    def after_trimEndMs(self, attrs):
        start_ms, end_ms = attrs["trimStartMs"], attrs["trimEndMs"]
        if attrs["type"] == "VIDEO" and end_ms and end_ms <= start_ms:
            self.refuse(ErrorCode.INVALID_TRIM_RANGE, f"trimEndMs ({end_ms}) must be after trimStartMs ({start_ms})")
        if attrs["type"] == "IMAGE" and not attrs["durationMs"]:
            self.refuse_field("durationMs", ErrorCode.INVALID_DURATION, "durationMs must be > 0 for an IMAGE segment")

    def validate(self, attrs):
        # A width or height <= 0 means the source's. imageXPct/imageYPct are checked but not rendered (an
        # IMAGE segment is always centred, docs/render.md), so the Segment leaves them out.
        width, height = attrs["width"], attrs["height"]
        rendered = {name: value for name, value in attrs.items() if name not in ("imageXPct", "imageYPct")}
        return super().validate(
            {
                **rendered,
                "width": width if width and width > 0 else None,
                "height": height if height and height > 0 else None,
            }
        )


class SegmentsField(ObjectsField):
    """Sorted by order; the orders are 0..n-1, each once."""

    def __init__(self, **kwargs):
        super().__init__(SegmentSerializer(), allow_null=True, **kwargs)

    def parse(self, value):
        segments = super().parse(value)
        orders = sorted(segment.order for segment in segments)
        if len(set(orders)) != len(orders):
            self.refuse(ErrorCode.DUPLICATE_SEGMENT_ORDER, f"segments[].order values repeat: {orders}")
        if orders and orders != list(range(len(orders))):
            self.refuse(
                ErrorCode.SEGMENT_ORDER_GAP, f"segments[].order must be 0..{len(orders) - 1} without gaps: {orders}"
            )
        return tuple(sorted(segments, key=lambda segment: segment.order))


@extend_schema_serializer(component_name="ImageClipSchema")
class ImageClipSerializer(_ConfigObject):
    builds = ImageClip

    startMs = TimeMsField(required=True)
    endMs = TimeMsField(required=True)
    xPct = PositionPercentField(help_text="the sticker's centre, % of the frame width")
    yPct = PositionPercentField(help_text="the sticker's centre, % of the frame height")
    widthPct = SizePercentField(schema_required=True)
    heightPct = SizePercentField(schema_required=True)
    imageFileKey = FileKeyField(help_text="`image_<i>`")

    def after_endMs(self, attrs):
        start_ms, end_ms = attrs["startMs"], attrs["endMs"]
        if end_ms <= start_ms:
            self.refuse(ErrorCode.INVALID_CLIP_RANGE, f"endMs ({end_ms}) must be after startMs ({start_ms})")

    def after_yPct(self, attrs):
        for name in ("xPct", "yPct"):
            if not -1000 <= attrs[name] <= 1000:
                self.refuse_field(
                    name, ErrorCode.INVALID_PERCENT, f"{name} must be between -1000 and 1000 (got {attrs[name]})"
                )

    def after_heightPct(self, attrs):
        if attrs["widthPct"] is None or attrs["heightPct"] is None:
            self.refuse(ErrorCode.INVALID_CONFIG, "widthPct and heightPct are required")


@extend_schema_serializer(component_name="FrameSchema")
class FrameSerializer(_ConfigObject):
    builds = Frame

    width = ConfigIntegerField(required=True, min_value=1, max_value=MAX_FRAME_SIDE)
    height = ConfigIntegerField(required=True, min_value=1, max_value=MAX_FRAME_SIDE)
    backgroundColorHex = ColorField()

    def after_height(self, attrs):
        if not (0 < attrs["width"] <= MAX_FRAME_SIDE and 0 < attrs["height"] <= MAX_FRAME_SIDE):
            self.refuse(ErrorCode.INVALID_FRAME, f"must be between 1x1 and {MAX_FRAME_SIDE}x{MAX_FRAME_SIDE}")


@extend_schema_serializer(component_name="BgmClipSchema")
class BgmClipSerializer(_ConfigObject):
    builds = BgmClip

    sourceTrimStartMs = TimeMsField()
    sourceTrimEndMs = TimeMsField(help_text="0 = to the end of the file")
    audioFileKey = FileKeyField(help_text="`bgm_<i>`")
    startMs = TimeMsField(required=True)
    volume = VolumeField()
    speed = SpeedField()

    def after_sourceTrimEndMs(self, attrs):
        if attrs["sourceTrimEndMs"] and attrs["sourceTrimEndMs"] <= attrs["sourceTrimStartMs"]:
            self.refuse(ErrorCode.INVALID_TRIM_RANGE, "sourceTrimEndMs must be after sourceTrimStartMs")


@extend_schema_serializer(component_name="StemSelectionSchema")
class StemSelectionSerializer(_ConfigObject):
    builds = StemSelection

    stemId = ConfigStringField(default="", schema_required=True)
    audioUrl = FileKeyField(help_text="one of our signed stem URLs (any host prefix); never fetched")
    volume = VolumeField()


class DirectiveIdField(ContractField, serializers.CharField):
    """Any JSON value, kept as text (null or absent = "")."""

    def parse(self, value):
        return "" if value is None else str(value)


@extend_schema_serializer(component_name="SeparationDirectiveSchema")
class SeparationDirectiveSerializer(_ConfigObject):
    builds = SeparationDirective

    rangeStartMs = TimeMsField(required=True)
    rangeEndMs = TimeMsField(required=True, min_value=1)
    selections = ObjectsField(StemSelectionSerializer())
    id = DirectiveIdField()
    muteOriginalSegmentAudio = ConfigBooleanField(default=False, schema_required=True)
    numberOfSpeakers = ConfigIntegerField(allow_null=True)

    def after_rangeEndMs(self, attrs):
        if attrs["rangeEndMs"] <= attrs["rangeStartMs"]:
            self.refuse(ErrorCode.INVALID_CLIP_RANGE, f"rangeEndMs ({attrs['rangeEndMs']}) must be after rangeStartMs")


@extend_schema_serializer(component_name="RenderConfigSchema")
class RenderConfigSerializer(JsonFormItemSerializer, _ConfigObject):
    # The `config` form item of POST /render, read into a RenderConfig.

    form_item_name = "config"
    form_item_max_bytes = 1024 * 1024
    required_code = ErrorCode.CONFIG_REQUIRED
    invalid_json_code = ErrorCode.INVALID_CONFIG_JSON
    error_code = ErrorCode.INVALID_CONFIG
    builds = RenderConfig

    outputKind = ConfigChoiceField(OUTPUT_KINDS, code=ErrorCode.INVALID_OUTPUT_KIND, default="video")
    quality = ConfigChoiceField(QUALITIES, code=ErrorCode.INVALID_QUALITY, default="medium")
    videoDurationMs = TimeMsField(default=None, allow_null=True, help_text="legacy mode")
    audioOverrideKey = ConfigStringField(allow_null=True)
    dubClips = ObjectsField(DubClipSerializer())
    segments = SegmentsField()
    imageClips = ObjectsField(ImageClipSerializer())
    frame = FrameSerializer(required=False, allow_null=True)
    bgmClips = ObjectsField(BgmClipSerializer())
    separationDirectives = ObjectsField(SeparationDirectiveSerializer())
    outputLanguageCode = ConfigStringField(default="original")

    @classmethod
    def form_item_absent(cls, raw) -> bool:
        return raw is None or (isinstance(raw, str | bytes) and not raw.strip())

    def validate(self, attrs):
        audio_override_key = attrs["audioOverrideKey"]
        return super().validate(
            {
                **attrs,
                "videoDurationMs": attrs["videoDurationMs"] or None,
                "audioOverrideKey": audio_override_key if audio_override_key and audio_override_key.strip() else None,
            }
        )


def config_document_from_request(request) -> dict:
    """The `config` form item of POST /render as a JSON object (its fields are read by render_submit)."""
    return load_config_document(RenderConfigSerializer.form_item_of(request))


def load_config_document(raw: str | bytes | None) -> dict:
    """The `config` form item as a JSON object; raises BadRequest config_required / invalid_config_json."""
    return RenderConfigSerializer.form_item_object(raw)


def parse_render_config(raw: str | bytes | None) -> RenderConfig:
    """Parses the `config` form item; raises BadRequest with a stable code."""
    return render_config_from_dict(load_config_document(raw))


def render_config_from_dict(document) -> RenderConfig:
    return RenderConfigSerializer.validated(document)
