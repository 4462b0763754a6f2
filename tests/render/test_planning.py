"""Render planning without running ffmpeg: one invocation, one filter graph, exact numbers, safe escaping."""

import re

import pytest

from apps.media.ffmpeg import MediaInfo, StreamInfo
from apps.render.config import render_config_from_dict
from apps.render.planning import PlanError, PlanInput, atempo_factors, number, render_plan, stem_input_key

VIDEO = MediaInfo(
    duration_ms=3000,
    format_name="mov,mp4",
    streams=(StreamInfo("video", "h264", width=640, height=360), StreamInfo("audio", "aac", channels=2)),
)
SILENT_VIDEO = MediaInfo(duration_ms=2000, format_name="mov,mp4", streams=(StreamInfo("video", "h264", 320, 240),))
IMAGE = MediaInfo(duration_ms=40, format_name="png_pipe", streams=(StreamInfo("video", "png", 64, 64),))
AUDIO = MediaInfo(duration_ms=1000, format_name="wav", streams=(StreamInfo("audio", "pcm_s16le", channels=1),))


def _plan(document, inputs=None, subtitles_path=None):
    inputs = inputs or {
        "video_0": PlanInput("/in/video_0", VIDEO),
        "video_1": PlanInput("/in/video_1", SILENT_VIDEO),
        "segment_image_2": PlanInput("/in/segment_image_2", IMAGE),
        "image_0": PlanInput("/in/image_0", IMAGE),
        "audio_0": PlanInput("/in/audio_0", AUDIO),
        "bgm_0": PlanInput("/in/bgm_0", AUDIO),
    }
    return render_plan(
        config=render_config_from_dict(document),
        inputs=inputs,
        output_path="/out/out.mp4",
        subtitles_path=subtitles_path,
    )


def _graph(plan) -> str:
    return plan.arguments[plan.arguments.index("-filter_complex") + 1]


THREE_SEGMENTS = {
    "segments": [
        {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 500, "trimEndMs": 2500,
         "speedScale": 4.0, "volumeScale": 0.5},
        {"sourceFileKey": "video_1", "type": "VIDEO", "order": 1, "trimStartMs": 0, "trimEndMs": 0},
        {"sourceFileKey": "segment_image_2", "type": "IMAGE", "order": 2, "durationMs": 1000},
    ],
    "frame": {"width": 321, "height": 180, "backgroundColorHex": "#112233"},
    "imageClips": [{"imageFileKey": "image_0", "startMs": 100, "endMs": 900, "xPct": 50, "yPct": 50,
                    "widthPct": 10, "heightPct": 20}],
    "dubClips": [{"audioFileKey": "audio_0", "startMs": 1200, "durationMs": 0, "volume": 1.5}],
    "bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 0.3, "speed": 2.0}],
}  # fmt: skip


def test_multi_segment_render_is_one_ffmpeg_pass_with_one_graph():
    plan = _plan(THREE_SEGMENTS)
    assert plan.arguments.count("-filter_complex") == 1
    assert plan.arguments[-1] == "/out/out.mp4"
    assert plan.arguments.count("-c:v") == 1
    # 2000 ms at 4x = 500 ms, 2000 ms, 1000 ms of still image
    assert plan.duration_ms == 3500
    assert (plan.width, plan.height) == (320, 180)  # rounded to even for yuv420p
    graph = _graph(plan)
    assert "concat=n=3:v=1:a=1" in graph
    assert "setpts=expr=(PTS-STARTPTS)/4" in graph
    assert graph.count("atempo=tempo=2") == 3  # 4x = 2x·2x for the segment, 2x for the BGM
    assert "color=0x112233" in graph
    assert "amix=inputs=3:duration=first:dropout_transition=0:normalize=0" in graph
    assert "alimiter=limit=0.95:attack=5:release=50:level=0" in graph
    assert "adelay=delays=1200:all=1" in graph
    assert "anullsrc" in graph  # the silent video and the image get silence
    # sticker centre at 50 %: 32x36 px box at (160-16, 90-18)
    assert "scale=w=32:h=36" in graph
    assert "overlay=x=144:y=72:enable=between(t\\,0.100000\\,0.900000)" in graph


def test_segment_boundaries_snap_to_frames_on_the_cumulative_timeline():
    document = {"segments": [
        {"sourceFileKey": "video_0", "type": "VIDEO", "order": i, "trimStartMs": 0, "trimEndMs": 1010}
        for i in range(3)
    ]}  # fmt: skip
    plan = _plan(document, inputs={"video_0": PlanInput("/in/v", VIDEO)})
    assert plan.duration_ms == 3033  # 91 frames at 30 fps, 3030 ms asked: within one frame
    graph = _graph(plan)
    assert graph.count("trim=end_frame=30") == 2 and graph.count("trim=end_frame=31") == 1
    assert graph.count("atrim=end_sample=48000") == 2 and "atrim=end_sample=49600" in graph


def test_quality_profiles_and_faststart():
    for quality, crf, preset, bitrate in (("high", "20", "medium", "192k"), ("low", "28", "fast", "128k")):
        arguments = _plan({**THREE_SEGMENTS, "quality": quality}).arguments
        assert arguments[arguments.index("-crf") + 1] == crf
        assert arguments[arguments.index("-preset") + 1] == preset
        assert arguments[arguments.index("-b:a") + 1] == bitrate
        assert arguments[arguments.index("-movflags") + 1] == "+faststart"
        assert arguments[-3:] == ["-t", "3.500000", "/out/out.mp4"]


def test_audio_output_has_no_video_stage():
    plan = _plan({**THREE_SEGMENTS, "outputKind": "audio"})
    graph = _graph(plan)
    for video_filter in ("scale", "pad", "overlay", "ass", "fps", "libx264", "setpts"):
        assert not re.search(rf"(^|[];,]){video_filter}=", graph)
        assert video_filter not in plan.arguments
    assert "-c:v" not in plan.arguments and "-vn" in plan.arguments
    assert plan.arguments[plan.arguments.index("-b:a") + 1] == "192k"
    assert plan.output_suffix == ".m4a"
    assert "concat=n=3:v=0:a=1" in graph


def test_time_arguments_are_fixed_point():
    document = {"segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0,
                              "trimEndMs": 1000, "speedScale": 0.0625}]}  # fmt: skip
    plan = _plan(document, inputs={"video_0": PlanInput("/in/v", VIDEO)})
    joined = " ".join(plan.arguments)
    assert "e-0" not in joined and "e+0" not in joined
    assert number(0.00001) == "0.00001"
    assert atempo_factors(0.0625) == [0.5, 0.5, 0.5, 0.5]
    assert atempo_factors(3.0) == [2.0, 1.5]
    assert atempo_factors(1.0) == []


def test_subtitle_path_is_escaped_for_the_filter_graph():
    hostile = "/tmp/x';[0:v]drawbox=c=red:t=fill[bad];[bad]null,y:z.ass"
    graph = _graph(_plan(THREE_SEGMENTS, subtitles_path=hostile))
    ass = graph[graph.index("ass=filename=") :]
    ass = ass[: ass.index("[s")]  # up to the output label
    # every quote, colon, bracket, comma and semicolon of the path is escaped: it stays one argument
    for char in "';[],:":
        assert all(ass[i - 1] == "\\" for i, c in enumerate(ass) if c == char and i > len("ass=filename")), char
    assert "drawbox" not in graph.replace(ass, "")


def test_missing_inputs_and_unusable_files_are_plan_errors():
    with pytest.raises(PlanError) as caught:
        _plan({**THREE_SEGMENTS, "dubClips": [{"audioFileKey": "audio_9", "startMs": 0}]})
    assert caught.value.code == "missing_file_part"
    with pytest.raises(PlanError) as caught:
        _plan({"segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0,
                             "trimEndMs": 3200}]})  # fmt: skip
    assert caught.value.code == "trim_end_exceeds_duration"
    plan = _plan({"segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimEndMs": 3090}]})
    assert plan.duration_ms == 3000  # within 100 ms of the probed end: clamped
    with pytest.raises(PlanError) as caught:
        _plan({"segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 3000}]})
    assert caught.value.code == "trim_start_exceeds_duration"


def test_legacy_render_uses_the_probed_size_and_video_duration():
    plan = _plan({"videoDurationMs": 2000, "dubClips": []}, inputs={"video": PlanInput("/in/video", VIDEO)})
    assert (plan.width, plan.height, plan.duration_ms) == (640, 360, 2000)
    assert "concat" not in _plan({"dubClips": []}, inputs={"video": PlanInput("/in/video", VIDEO)}).arguments[-10]


def test_override_replaces_the_source_audio_and_directives_mute_and_mix_stems():
    inputs = {
        "video_0": PlanInput("/in/video_0", VIDEO),
        "audio_override": PlanInput("/in/audio_override", AUDIO),
        stem_input_key(0, 0): PlanInput("/in/stem", AUDIO),
    }
    document = {
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0}],
        "audioOverrideKey": "audio_override",
        "separationDirectives": [{"id": "d1", "rangeStartMs": 1000, "rangeEndMs": 2000,
                                  "muteOriginalSegmentAudio": True,
                                  "selections": [{"stemId": "speaker_0", "audioUrl": "x", "volume": 0.8}]}],
    }  # fmt: skip
    plan = _plan(document, inputs=inputs)
    graph = _graph(plan)
    assert "[0:a]" not in graph  # the source's own audio is not used at all
    assert "volume=volume=0:enable=between(t\\,1.000000\\,2.000000)" in graph
    assert "atrim=end=1.000000" in graph and "adelay=delays=1000:all=1" in graph
    assert "volume=volume=0.8" in graph
