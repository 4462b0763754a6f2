"""Server-side checks of proposed steps: declarations, project ids and times, overlaps, warnings."""

import pytest
from google.genai import types

from apps.chat.context import ProjectContext
from apps.chat.texts import reply_language
from apps.chat.tools import TOOLS, function_declarations
from apps.chat.validation import (
    Rejection,
    Step,
    invalidated_kinds,
    separation_conflict,
    step_validate_against_context,
    step_validate_declaration,
)
from apps.media.timeline import TimeRange

CONTEXT = ProjectContext(
    payload={
        "segments": [{"id": "seg-1", "startMs": 0, "endMs": 30000}],
        "subtitleClips": [{"id": "sub-1", "index": 1, "startMs": 0, "endMs": 2000, "text": "hi"}],
        "bgmClips": [{"id": "bgm-1", "startMs": 5000, "endMs": 20000}],
        "separationStems": [{"stemId": "speaker_1", "label": "speaker_1", "volume": 1.0, "selected": True}],
        "separationDirectives": [{"id": "dir-1", "rangeStartMs": 10000, "rangeEndMs": 20000}],
        "processingSeparations": [{"rangeStartMs": 25000, "rangeEndMs": 28000}],
        "videoDurationMs": 30000,
    }
)


def test_sixteen_tools_declared_once_with_typed_parameters():
    declarations = function_declarations()
    assert len(declarations) == len(TOOLS) == 16
    assert "update_bgm_range" in {declaration.name for declaration in declarations}
    speed = next(declaration for declaration in declarations if declaration.name == "update_segment_speed")
    assert speed.parameters.required == ["segmentId", "speedScale"]
    assert speed.parameters.properties["speedScale"].type == types.Type.NUMBER
    assert (speed.parameters.properties["speedScale"].minimum, speed.parameters.properties["speedScale"].maximum) == (
        0.25,
        4,
    )
    assert speed.parameters.properties["startMs"].type == types.Type.INTEGER
    subtitles = next(declaration for declaration in declarations if declaration.name == "transcribe_for_subtitles")
    assert subtitles.parameters.properties["targetLanguageCodes"].type == types.Type.ARRAY
    assert subtitles.parameters.properties["targetLanguageCodes"].items.type == types.Type.STRING
    separate = next(declaration for declaration in declarations if declaration.name == "separate_audio_range")
    assert separate.parameters.required == []


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("set_volume", {"segmentId": "seg-1"}, "unknown tool"),
        ("update_segment_volume", {"segmentId": "seg-1"}, "missing required argument 'volumeScale'"),
        ("update_segment_volume", {"segmentId": "seg-1", "volumeScale": None}, "missing required"),
        ("update_segment_volume", {"segmentId": "seg-1", "volumeScale": "half"}, "must be a number"),
        ("update_segment_volume", {"segmentId": "seg-1", "volumeScale": True}, "must be a number"),
        ("update_segment_volume", {"segmentId": "seg-1", "volumeScale": 2.5}, "at most 2"),
        ("update_segment_speed", {"segmentId": "seg-1", "speedScale": 0.1}, "at least 0.25"),
        ("delete_segment_range", {"segmentId": "seg-1", "startMs": "1s", "endMs": 2000}, "must be an integer"),
        ("delete_segment_range", {"segmentId": "seg-1", "startMs": 1000.5, "endMs": 2000}, "whole number"),
        ("delete_segment_range", {"segmentId": 7, "startMs": 1000, "endMs": 2000}, "must be a string"),
        ("transcribe_for_subtitles", {"targetLanguageCodes": "en"}, "list of strings"),
        ("transcribe_for_subtitles", {"targetLanguageCodes": []}, "at least one"),
        ("separate_audio_range", {"segmentId": "seg-1", "bgmClipId": "bgm-1"}, "not both"),
        ("update_bgm_volume", ["bgm-1", 0.5], "must be an object"),
    ],
)
def test_declaration_problems_are_rejected(name, args, reason):
    rejection = step_validate_declaration(name=name, args=args)
    assert isinstance(rejection, Rejection)
    assert reason in rejection.reason


def test_declaration_cleans_the_step():
    step = step_validate_declaration(
        name="separate_audio_range",
        args={"segmentId": "seg-1", "trimStartMs": 1000.0, "trimEndMs": 3000, "bgmClipId": None, "bogus": 1},
    )
    assert step == Step("separate_audio_range", {"segmentId": "seg-1", "startMs": 1000, "endMs": 3000})
    assert type(step.args["startMs"]) is int
    volume = step_validate_declaration(name="update_segment_volume", args={"segmentId": "s", "volumeScale": 1})
    assert volume.args == {"segmentId": "s", "volumeScale": 1.0}
    languages = step_validate_declaration(name="generate_subtitles", args={"targetLanguageCodes": ["en", "en", "ja"]})
    assert languages.args == {"targetLanguageCodes": ["en", "ja"]}


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Step("delete_segment_range", {"segmentId": "seg-9", "startMs": 0, "endMs": 1000}), "not in the project"),
        (Step("update_subtitle_text", {"clipId": "bgm-1", "text": "x"}), "not in the project"),
        (Step("update_bgm_volume", {"clipId": "sub-1", "volumeScale": 1.0}), "not in the project"),
        (Step("separate_audio_range", {"bgmClipId": "nope"}), "not in the project"),
        (Step("update_stem_volume", {"stemId": "drums", "volume": 1.0}), "not in the project"),
        (Step("update_stem_volume", {"stemId": "speaker_x", "volume": 1.0}), "not in the project"),
        (Step("delete_segment_range", {"segmentId": "seg-1", "startMs": 29000, "endMs": 30001}), "outside"),
        (Step("delete_segment_range", {"segmentId": "seg-1", "startMs": -1, "endMs": 1000}), "outside"),
        (Step("move_bgm_clip", {"clipId": "bgm-1", "newStartMs": 45000}), "outside"),
        (Step("delete_segment_range", {"segmentId": "seg-1", "startMs": 3000, "endMs": 3000}), "before"),
        (Step("update_bgm_range", {"clipId": "bgm-1", "newStartMs": 9000, "newEndMs": 8000}), "before"),
    ],
)
def test_context_problems_are_rejected(step, reason):
    rejection = step_validate_against_context(step=step, context=CONTEXT)
    assert rejection is not None and reason in rejection.reason


@pytest.mark.parametrize(
    "step",
    [
        Step("delete_segment_range", {"segmentId": "seg-1", "startMs": 29000, "endMs": 30000}),
        Step("update_stem_volume", {"stemId": "speaker_1", "volume": 1.0}),
        Step("update_stem_volume", {"stemId": "speaker_3", "volume": 1.0}),
        Step("update_stem_volume", {"stemId": "background", "volume": 1.0}),
        Step("transcribe_for_subtitles", {"targetLanguageCodes": ["en"]}),
    ],
)
def test_valid_steps_pass_the_context_checks(step):
    assert step_validate_against_context(step=step, context=CONTEXT) is None


def test_duration_falls_back_to_the_last_segment_end():
    context = ProjectContext(payload={"segments": [{"id": "s", "startMs": 0, "endMs": 8000}], "videoDurationMs": 0})
    assert context.timeline_end_ms == 8000


def test_separation_conflict_figures():
    step = Step("separate_audio_range", {"segmentId": "seg-1", "startMs": 6000, "endMs": 26000})
    conflict = separation_conflict(step=step, context=CONTEXT)
    assert conflict.conflicts == [TimeRange(10000, 20000), TimeRange(25000, 28000)]
    assert conflict.free_parts == [TimeRange(6000, 10000), TimeRange(20000, 25000)]
    assert conflict.replace_range == TimeRange(6000, 28000)
    assert conflict.processing is True


def test_separation_without_range_uses_the_pending_range_or_segment():
    context = ProjectContext(
        payload={**CONTEXT.payload, "isRangeSelecting": True, "pendingRangeStartMs": 0, "pendingRangeEndMs": 9000}
    )
    assert separation_conflict(step=Step("separate_audio_range", {}), context=context) is None
    whole_segment = Step("separate_audio_range", {"segmentId": "seg-1"})
    assert separation_conflict(step=whole_segment, context=context).requested == TimeRange(0, 30000)
    touching = Step("separate_audio_range", {"startMs": 20000, "endMs": 25000})
    assert separation_conflict(step=touching, context=context) is None  # half-open ranges only touch


def test_invalidation_applies_to_structural_edits_only():
    delete = Step("delete_segment_range", {"segmentId": "seg-1", "startMs": 0, "endMs": 1000})
    volume = Step("update_segment_volume", {"segmentId": "seg-1", "volumeScale": 0.5})
    assert invalidated_kinds(steps=[delete], context=CONTEXT) == ["separations", "subtitles", "bgm"]
    assert invalidated_kinds(steps=[volume], context=CONTEXT) == []
    assert invalidated_kinds(steps=[delete], context=ProjectContext(payload={"segments": []})) == []


@pytest.mark.parametrize(
    ("last_user_text", "locale", "language"),
    [
        ("자막 만들어줘", "en", "ko"),
        ("make subtitles", "ko", "en"),
        ("sim:text 여기 지워줘", "en", "ko"),
        ("🙂 123", "ko", "ko"),
        ("🙂 123", "en-US", "en"),
        (None, "ko", "ko"),
    ],
)
def test_reply_language_follows_the_last_user_turn_then_the_locale(last_user_text, locale, language):
    assert reply_language(last_user_text=last_user_text, locale=locale) == language
