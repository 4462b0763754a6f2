"""RenderConfig parsing: lenient on unknown keys and nulls, strict on values ffmpeg would choke on."""

import json

import pytest

from apps.core.errors import BadRequest
from apps.render.config import parse_render_config

PHONE_CONFIG = {
    "dubClips": [{"audioFileKey": "audio_0", "startMs": 1000, "durationMs": 0, "volume": 1.0}],
    "videoDurationMs": None,
    "segments": [
        {
            "sourceFileKey": "video_0",
            "type": "VIDEO",
            "order": 0,
            "durationMs": 3000,
            "trimStartMs": None,
            "trimEndMs": None,
            "width": None,
            "height": None,
            "imageXPct": None,
            "imageYPct": None,
            "imageWidthPct": None,
            "imageHeightPct": None,
            "volumeScale": 1.0,
            "speedScale": 1.0,
            "futureField": {"nested": True},
        }
    ],
    "imageClips": [],
    "frame": None,
    "bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 0.5, "speed": 1.25}],
    "audioOverrideKey": None,
    "separationDirectives": [],
    "outputLanguageCode": "original",
    "outputKind": "video",
    "somethingNew": 42,
}


def test_phone_config_with_explicit_nulls_and_unknown_keys_parses():
    config = parse_render_config(json.dumps(PHONE_CONFIG))
    assert config.segments[0].trim_start_ms == 0
    assert config.segments[0].trim_end_ms == 0
    assert config.bgm_clips[0].speed == 1.25
    assert config.quality == "medium"
    assert config.frame is None
    assert config.referenced_file_keys() == {"video_0": "segment_video", "audio_0": "dub", "bgm_0": "bgm"}


def test_segments_are_sorted_by_order():
    document = {
        "dubClips": [],
        "segments": [
            {"sourceFileKey": "video_1", "type": "VIDEO", "order": 1},
            {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0},
        ],
    }
    config = parse_render_config(json.dumps(document))
    assert [segment.source_file_key for segment in config.segments] == ["video_0", "video_1"]


def test_background_colour_without_hash_is_normalised():
    config = parse_render_config(json.dumps({"frame": {"width": 320, "height": 240, "backgroundColorHex": "a0B1c2"}}))
    assert config.frame.ffmpeg_color == "0xA0B1C2"


def _segment(**overrides):
    return {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, **overrides}


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"segments": [_segment(trimStartMs=-5)]}, "negative_time"),
        ({"dubClips": [{"audioFileKey": "audio_0", "startMs": -1}]}, "negative_time"),
        ({"segments": [_segment(trimStartMs=2000, trimEndMs=1000)]}, "invalid_trim_range"),
        ({"segments": [_segment(type="GIF")]}, "invalid_segment_type"),
        ({"segments": [_segment(order=0), _segment(order=2, sourceFileKey="video_2")]}, "segment_order_gap"),
        ({"segments": [_segment(order=0), _segment(order=0, sourceFileKey="video_1")]}, "duplicate_segment_order"),
        ({"segments": [_segment(speedScale=0)]}, "invalid_speed"),
        ({"segments": [_segment(volumeScale=-1)]}, "invalid_volume"),
        ({"bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "speed": -2}]}, "invalid_speed"),
        ({"segments": [_segment(type="IMAGE", sourceFileKey="segment_image_0", durationMs=0)]}, "invalid_duration"),
        ({"frame": {"width": 320, "height": 240, "backgroundColorHex": "red'[x];"}}, "invalid_background_color"),
        ({"frame": {"width": 0, "height": 240}}, "invalid_frame"),
        (
            {
                "imageClips": [
                    {
                        "imageFileKey": "image_0",
                        "startMs": 900,
                        "endMs": 100,
                        "xPct": 1,
                        "yPct": 1,
                        "widthPct": 5,
                        "heightPct": 5,
                    }
                ]
            },
            "invalid_clip_range",
        ),  # fmt: skip
        (
            {"separationDirectives": [{"id": "d", "rangeStartMs": 500, "rangeEndMs": 500, "selections": []}]},
            "invalid_clip_range",
        ),
        ({"outputKind": "gif"}, "invalid_output_kind"),
        ({"quality": "ultra"}, "invalid_quality"),
        ({"segments": [_segment(order="first")]}, "invalid_config"),
        ({"segments": [_segment(trimStartMs=1.5)]}, "invalid_config"),
        ({"segments": "video_0"}, "invalid_config"),
        ({"dubClips": [{"startMs": 0}]}, "invalid_config"),
    ],
)
def test_invalid_config_is_refused_with_a_clear_code(document, code):
    with pytest.raises(BadRequest) as caught:
        parse_render_config(json.dumps(document))
    assert caught.value.code == code
    assert caught.value.detail


@pytest.mark.parametrize(("raw", "code"), [(None, "config_required"), ("  ", "config_required"),
                                           ("{not json", "invalid_config_json"), ("[1, 2]", "invalid_config")])  # fmt: skip
def test_missing_or_malformed_config_is_a_400(raw, code):
    with pytest.raises(BadRequest) as caught:
        parse_render_config(raw)
    assert caught.value.code == code
