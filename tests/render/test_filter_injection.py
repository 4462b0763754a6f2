"""Hostile names never reach the filter graph unescaped, on FFmpeg 5.1 (Debian) and 9.0 (static build)."""

import shutil

import imageio_ffmpeg
import pytest

from apps.media.ffmpeg import probe, run_ffmpeg
from apps.render.config import render_config_from_dict
from apps.render.planning import PlanInput, render_plan
from tests.render.measure import count_pixels, probe_streams

HOSTILE_DIR = "in'ject:[0:v]drawbox=c=red:t=fill[x];[x]null,a;b"


@pytest.mark.parametrize(
    "binary", [shutil.which("ffmpeg"), imageio_ffmpeg.get_ffmpeg_exe()], ids=["ffmpeg5", "ffmpeg9"]
)
def test_subtitle_and_input_paths_with_filter_syntax_are_harmless(binary, settings, media, tmp_path):
    settings.FFMPEG_BINARY = binary
    hostile = tmp_path / HOSTILE_DIR
    hostile.mkdir()
    subtitles = media.ass("s'u:b,[t];.ass", start="0:00:00.40", end="0:00:00.90", folder_=hostile)
    video = shutil.copy(media.video(seconds=1.5, color="blue"), hostile / "v'i:d[e]o;,.mp4")
    sticker = shutil.copy(media.image(color="lime"), hostile / "st'ick:er.png")
    config = render_config_from_dict(
        {
            "dubClips": [],
            "imageClips": [
                {
                    "imageFileKey": "image_0",
                    "startMs": 1000,
                    "endMs": 1400,
                    "xPct": 50,
                    "yPct": 50,
                    "widthPct": 30,
                    "heightPct": 30,
                }
            ],
        }  # fmt: skip
    )
    inputs = {"video": PlanInput(str(video), probe(video)), "image_0": PlanInput(str(sticker), probe(sticker))}
    output = tmp_path / "out.mp4"
    plan = render_plan(config=config, inputs=inputs, output_path=str(output), subtitles_path=str(subtitles))
    run_ffmpeg(plan.arguments, timeout=60)

    assert abs(probe_streams(output)["duration"] - 1.5) <= 1 / 30
    reds = count_pixels(output, at=0.6, predicate=lambda r, g, b: r > 200 and g < 80 and b < 80)
    whites = count_pixels(output, at=0.6, predicate=lambda r, g, b: r > 200 and g > 200 and b > 200)
    limes = count_pixels(output, at=1.2, predicate=lambda r, g, b: r < 80 and g > 200 and b < 80)
    assert reds == 0  # the "drawbox" in the path did nothing
    assert whites > 200  # the subtitles file was found through the escaped path and burned in
    assert limes > 100  # the sticker read from a hostile path


@pytest.mark.parametrize("output_kind", ["video", "audio"])
@pytest.mark.parametrize(
    "binary", [shutil.which("ffmpeg"), imageio_ffmpeg.get_ffmpeg_exe()], ids=["ffmpeg5", "ffmpeg9"]
)
def test_the_full_graph_runs_on_both_ffmpeg_versions(binary, output_kind, settings, media, tmp_path):
    settings.FFMPEG_BINARY = binary
    files = {
        "video_0": media.video(seconds=2),
        "video_1": media.video("silent.mp4", seconds=1, tone_hz=None),
        "segment_image_2": media.image("still.png", color="white"),
        "image_0": media.image(),
        "audio_0": media.tone(),
        "bgm_0": media.tone("bgm.wav", seconds=3, hz=300),
        "audio_override": media.tone("override.wav", seconds=1, hz=500),
    }
    config = render_config_from_dict(
        {
            "segments": [
                {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 200, "trimEndMs": 1800,
                 "speedScale": 0.8, "volumeScale": 0.5},
                {"sourceFileKey": "video_1", "type": "VIDEO", "order": 1},
                {"sourceFileKey": "segment_image_2", "type": "IMAGE", "order": 2, "durationMs": 500,
                 "imageWidthPct": 50, "imageHeightPct": 50},
            ],
            "frame": {"width": 160, "height": 90, "backgroundColorHex": "#203040"},
            "imageClips": [{"imageFileKey": "image_0", "startMs": 100, "endMs": 900, "xPct": 30, "yPct": 30,
                            "widthPct": 20, "heightPct": 20}],
            "dubClips": [{"audioFileKey": "audio_0", "startMs": 300, "durationMs": 600, "volume": 1.2}],
            "bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 0.4, "speed": 3.0}],
            "audioOverrideKey": "audio_override",
            "separationDirectives": [{"id": "d", "rangeStartMs": 2000, "rangeEndMs": 2500,
                                      "muteOriginalSegmentAudio": True, "selections": []}],
            "outputKind": output_kind,
            "quality": "low",
        }
    )  # fmt: skip
    inputs = {key: PlanInput(str(path), probe(path)) for key, path in files.items()}
    output = tmp_path / f"out.{'m4a' if output_kind == 'audio' else 'mp4'}"
    plan = render_plan(config=config, inputs=inputs, output_path=str(output), subtitles_path=str(media.ass()))
    progress: list[int] = []
    run_ffmpeg(plan.arguments, timeout=60, expected_duration_ms=plan.duration_ms, on_progress=progress.append)

    streams = probe_streams(output)
    assert plan.duration_ms == 3500  # 1.6 s at 0.8x + 1 s + 0.5 s
    assert abs(streams["duration"] - 3.5) <= 1 / 30
    assert ("video" in streams) == (output_kind == "video")
    assert progress and progress == sorted(progress)
