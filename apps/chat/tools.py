"""The chat tools the phone can apply: one table, from which the Gemini declarations and the
server-side validation are both built (contract, chat section; 16 tools)."""

from dataclasses import dataclass, field
from typing import Literal

from google.genai import types

ParamType = Literal["string", "integer", "number", "array"]

# What an id argument must refer to in the project context; validation.py resolves these.
IdKind = Literal["segment", "subtitle_clip", "bgm_clip", "stem"]

MAX_STEPS = 5

STRUCTURAL_TOOLS = frozenset({"delete_segment_range", "duplicate_segment_range", "update_segment_speed"})
COSTLY_TOOLS = frozenset(
    {
        "separate_audio_range",
        "transcribe_for_subtitles",
        "apply_subtitles_with_script",
        "generate_subtitles",
        "generate_dub",
        "generate_subtitles_for_bgm",
        "generate_dub_for_bgm",
    }
)


@dataclass(frozen=True)
class ToolParam:
    name: str
    type: ParamType
    description: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    refers_to: IdKind | None = None
    is_time: bool = False


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    params: tuple[ToolParam, ...] = field(default_factory=tuple)
    # Old argument names the phone still accepts, mapped to the current ones.
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def required_names(self) -> list[str]:
        return [param.name for param in self.params if param.required]

    def param(self, name: str) -> ToolParam | None:
        return next((param for param in self.params if param.name == name), None)


@dataclass(frozen=True)
class Step:
    """A call of one of these tools: a step the interpreter plans, the model proposes or the server accepts."""

    name: str
    args: dict


def _segment_id(required: bool = True) -> ToolParam:
    return ToolParam(
        "segmentId", "string", "Id of a VIDEO segment from projectContext.segments.", required, refers_to="segment"
    )


def _time(name: str, description: str, required: bool = True) -> ToolParam:
    return ToolParam(name, "integer", description, required, minimum=0, is_time=True)


def _range(required: bool) -> tuple[ToolParam, ToolParam]:
    return (
        _time("startMs", "Range start, global-timeline milliseconds (inclusive).", required),
        _time("endMs", "Range end, global-timeline milliseconds (exclusive).", required),
    )


def _bgm_clip_id() -> ToolParam:
    return ToolParam("clipId", "string", "Id of a BGM clip from projectContext.bgmClips.", True, refers_to="bgm_clip")


def _language_list(required: bool = True) -> ToolParam:
    return ToolParam(
        "targetLanguageCodes",
        "array",
        'Target language codes (e.g. ["en", "ja"]); several languages go in ONE call as one list.',
        required,
    )


def _source_language() -> ToolParam:
    return ToolParam("sourceLanguageCode", "string", 'Spoken language code of the source, or "auto".')


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "delete_segment_range",
        "Delete the range [startMs, endMs) of a video segment. Structural edit: shifts everything after it.",
        (_segment_id(), *_range(True)),
    ),
    ToolSpec(
        "duplicate_segment_range",
        "Duplicate the range [startMs, endMs) of a video segment right after itself. Structural edit.",
        (_segment_id(), *_range(True)),
    ),
    ToolSpec(
        "update_segment_volume",
        "Set the volume of a video segment, or of the range [startMs, endMs) of it when given.",
        (
            _segment_id(),
            ToolParam("volumeScale", "number", "Volume multiplier, 0 (mute) to 2 (double).", True, 0, 2),
            *_range(False),
        ),
    ),
    ToolSpec(
        "update_segment_speed",
        "Set the playback speed of a video segment, or of the range [startMs, endMs) of it. Structural edit.",
        (
            _segment_id(),
            ToolParam("speedScale", "number", "Speed multiplier, 0.25 to 4.", True, 0.25, 4),
            *_range(False),
        ),
    ),
    ToolSpec(
        "separate_audio_range",
        "Separate voices and background of a range (about one minute of processing per minute of audio). "
        "Give segmentId or bgmClipId, not both.",
        (
            _segment_id(required=False),
            ToolParam("bgmClipId", "string", "Id of a BGM clip from projectContext.bgmClips.", refers_to="bgm_clip"),
            *_range(False),
        ),
        aliases={"trimStartMs": "startMs", "trimEndMs": "endMs"},
    ),
    ToolSpec(
        "update_stem_volume",
        "Set the volume of a separated stem.",
        (
            ToolParam(
                "stemId",
                "string",
                'Stem id: "background", "voice_all" or "speaker_<N>", as listed in projectContext.separationStems.',
                True,
                refers_to="stem",
            ),
            ToolParam("volume", "number", "Volume multiplier, 0 to 2.", True, 0, 2),
        ),
    ),
    ToolSpec(
        "update_subtitle_text",
        "Replace the text of one subtitle clip with the user's text, verbatim (never translated).",
        (
            ToolParam(
                "clipId", "string", "Id of a clip from projectContext.subtitleClips.", True, refers_to="subtitle_clip"
            ),
            ToolParam("text", "string", "The new subtitle text exactly as the user wrote it.", True),
        ),
    ),
    ToolSpec(
        "transcribe_for_subtitles",
        "Step 1 of subtitles: transcribe the video so the user can review the script (a few minutes).",
        (_source_language(), _language_list()),
    ),
    ToolSpec(
        "apply_subtitles_with_script",
        "Step 2 of subtitles: translate the reviewed script and place the subtitles (a few minutes per language).",
        (
            _language_list(),
            ToolParam("srt", "string", "The full edited SRT when the user changed the script; omit otherwise."),
            _source_language(),
        ),
    ),
    ToolSpec(
        "generate_subtitles",
        "Deprecated one-step subtitles without review; only when the user asks to skip the review.",
        (_source_language(), _language_list()),
    ),
    ToolSpec(
        "generate_dub",
        "Dub the video into one language (a few minutes).",
        (
            _source_language(),
            ToolParam("targetLanguageCode", "string", "The dub language code.", True),
        ),
    ),
    ToolSpec(
        "move_bgm_clip",
        "Move a BGM clip so it starts at newStartMs.",
        (_bgm_clip_id(), _time("newStartMs", "New start, global-timeline milliseconds.")),
    ),
    ToolSpec(
        "update_bgm_volume",
        "Set the volume of a BGM clip.",
        (_bgm_clip_id(), ToolParam("volumeScale", "number", "Volume multiplier, 0 to 2.", True, 0, 2)),
    ),
    ToolSpec(
        "update_bgm_range",
        "Fit a BGM clip to [newStartMs, newEndMs): sets its start and speed so it spans the range.",
        (
            _bgm_clip_id(),
            _time("newStartMs", "New start, global-timeline milliseconds (inclusive)."),
            _time("newEndMs", "New end, global-timeline milliseconds (exclusive)."),
        ),
    ),
    ToolSpec(
        "generate_subtitles_for_bgm",
        "Subtitle the lyrics or speech of a BGM clip (a few minutes per language).",
        (_bgm_clip_id(), _language_list()),
    ),
    ToolSpec(
        "generate_dub_for_bgm",
        "Dub a BGM clip into one language (a few minutes).",
        (_bgm_clip_id(), ToolParam("targetLanguageCode", "string", "The dub language code.", True)),
    ),
)

TOOLS_BY_NAME: dict[str, ToolSpec] = {tool.name: tool for tool in TOOLS}

_SCHEMA_TYPES = {
    "string": types.Type.STRING,
    "integer": types.Type.INTEGER,
    "number": types.Type.NUMBER,
    "array": types.Type.ARRAY,
}


def _param_schema(param: ToolParam) -> types.Schema:
    schema = types.Schema(type=_SCHEMA_TYPES[param.type], description=param.description)
    if param.minimum is not None:
        schema.minimum = param.minimum
    if param.maximum is not None:
        schema.maximum = param.maximum
    if param.type == "array":
        schema.items = types.Schema(type=types.Type.STRING)
    return schema


def function_declarations() -> list[types.FunctionDeclaration]:
    return [
        types.FunctionDeclaration(
            name=tool.name,
            description=tool.description,
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={param.name: _param_schema(param) for param in tool.params},
                required=tool.required_names,
            ),
        )
        for tool in TOOLS
    ]


def gemini_tools() -> list[types.Tool]:
    return [types.Tool(function_declarations=function_declarations())]
