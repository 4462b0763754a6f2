"""What would fail later is refused at submit, or works: big valid renders run (the graph goes to
ffmpeg by file), renders over the documented limits are a 400, a video is not an image, an ASS file
libass cannot use is a 400, and control characters never reach a stored SRT."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from apps.jobs.models import Job, JobKind
from apps.subtitles.services import RESULT_ORIGINAL_KEY
from tests.abuse.conftest import bearer_for
from tests.faults.conftest import wait_until
from tests.support.media import lavfi_clip
from workers import queues

SEGMENTS = 250


@pytest.fixture
def clip(tmp_path, ffmpeg_tools) -> Path:
    return lavfi_clip(tmp_path / "clip.mp4", size="64x48", rate=10, seconds=1, ffmpeg=ffmpeg_tools[0])


@pytest.fixture
def png(tmp_path, ffmpeg_tools) -> Path:
    target = tmp_path / "sticker.png"
    subprocess.run(
        [ffmpeg_tools[0], "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:size=32x32", "-frames:v", "1",
         str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return target


def _segment(order: int, key: str, *, kind: str = "VIDEO") -> dict:
    return {"sourceFileKey": key, "type": kind, "order": order, "durationMs": 100, "trimStartMs": 0,
            "trimEndMs": 100 if kind == "VIDEO" else 0, "speedScale": 1.0, "volumeScale": 1.0}  # fmt: skip


def _render(server, user, config: dict, parts: dict[str, Path]) -> requests.Response:
    handles = {name: open(path, "rb") for name, path in parts.items()}
    try:
        files = [(name, (path.name, handles[name])) for name, path in parts.items()]
        files.append(("config", (None, json.dumps(config))))
        return requests.post(server.url("/api/v2/render"), files=files, headers=bearer_for(user), timeout=300)
    finally:
        for handle in handles.values():
            handle.close()


def test_a_big_valid_render_runs_to_the_end(start_server, alice, clip, abuse_processes):
    server = start_server(THROTTLE_SUBMIT="1000/min")
    # The phone sends one part per source; 250 segments cut from 5 sources.
    config = {"segments": [_segment(order, f"video_{order % 5}") for order in range(SEGMENTS)], "outputKind": "video"}
    response = _render(server, alice, config, {f"video_{order}": clip for order in range(5)})
    assert response.status_code == 200, response.text
    worker = [
        sys.executable, "-m", "celery", "-A", "vibi", "worker", "-Q", queues.RENDER, "-c", "1",
        "-n", f"abuse-render-{server.port}@%h", "--without-mingle", "--without-gossip", "-l", "INFO",
    ]  # fmt: skip
    abuse_processes.start("render-worker", worker, server.env)
    job = Job.objects.get(public_id=response.json()["jobId"])
    wait_until(
        lambda: Job.objects.get(pk=job.pk).status in ("succeeded", "failed"), timeout=300, what="the render", every=1
    )
    job.refresh_from_db()
    assert job.status == "succeeded", (job.error_code, job.error_detail[:500])


@pytest.mark.parametrize(
    "what, count_key",
    [("segments", "RENDER_MAX_SEGMENTS"), ("imageClips", "RENDER_MAX_IMAGE_CLIPS")],
)
def test_renders_over_the_documented_limits_are_400(start_server, alice, clip, png, what, count_key):
    server = start_server(**{count_key: 10})
    if what == "segments":
        config = {"segments": [_segment(order, "video_0") for order in range(11)], "outputKind": "video"}
        parts = {"video_0": clip}
    else:
        clips = [{"imageFileKey": "image_0", "startMs": 0, "endMs": 100, "xPct": 0, "yPct": 0, "widthPct": 10,
                  "heightPct": 10} for _ in range(11)]  # fmt: skip
        config = {"segments": [_segment(0, "video_0")], "imageClips": clips, "outputKind": "video"}
        parts = {"video_0": clip, "image_0": png}
    response = _render(server, alice, config, parts)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "render_too_large"
    assert not Job.objects.filter(kind=JobKind.RENDER).exists()


def test_a_video_is_not_a_segment_image_nor_a_sticker(shared_server, alice, clip):
    image_segment = {"segments": [_segment(0, "segment_image_0", kind="IMAGE")], "outputKind": "video"}
    response = _render(shared_server, alice, image_segment, {"segment_image_0": clip})
    assert response.status_code == 400 and response.json()["error"] == "not_an_image", response.text
    sticker = {
        "segments": [_segment(0, "video_0")],
        "imageClips": [{"imageFileKey": "image_0", "startMs": 0, "endMs": 100, "xPct": 0, "yPct": 0,
                        "widthPct": 10, "heightPct": 10}],
        "outputKind": "video",
    }  # fmt: skip
    response = _render(shared_server, alice, sticker, {"video_0": clip, "image_0": clip})
    assert response.status_code == 400 and response.json()["error"] == "not_an_image", response.text


ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: {x}
PlayResY: {y}

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, Alignment
Style: Default,Arial,20,&H00FFFFFF,2

[Events]
Format: Layer, Start, End, Style, Text
Dialogue: 0,0:00:00.00,0:00:00.10,Default,{text}
"""


@pytest.mark.parametrize(
    "x, y, text",
    [(99_999_999, 720, "hello"), (1280, 0, "hello"), (1280, 720, "nul\x00inside"), (1280, 720, "bell\x07")],
)
def test_an_ass_file_libass_cannot_use_is_400(shared_server, alice, clip, tmp_path, x, y, text):
    ass = tmp_path / "subs.ass"
    ass.write_text(ASS.format(x=x, y=y, text=text))
    config = {"segments": [_segment(0, "video_0")], "outputKind": "video"}
    response = _render(shared_server, alice, config, {"video_0": clip, "subtitles": ass})
    assert response.status_code == 400 and response.json()["error"] == "invalid_subtitles", response.text


def test_control_characters_never_reach_a_stored_srt(shared_server, alice):
    srt = b"1\n00:00:00,000 --> 00:00:01,000\nnul\x00 and bell\x07 and esc\x1b here\n\n"
    response = requests.post(
        shared_server.url("/api/v2/subtitles/regenerate"),
        files=[("file", ("edited.srt", srt)), ("spec", (None, json.dumps({"sourceLanguageCode": "en"})))],
        headers=bearer_for(alice),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    job = Job.objects.get(public_id=response.json()["jobId"])
    from django.conf import settings

    stored = (Path(settings.DATA_DIR) / "media" / job.result[RESULT_ORIGINAL_KEY]).read_bytes()
    assert b"nul and bell and esc here" in stored
    assert not any(byte < 0x20 and byte not in b"\n" for byte in stored), stored


@pytest.mark.parametrize("code", ["not a language!!", "e", "english-please-now-x"])
def test_a_malformed_language_code_is_refused_by_separation_like_everywhere(shared_server, alice, code):
    spec = {"mediaType": "audio", "sourceLanguageCode": code}
    for path in ("/api/v2/separate", "/api/v2/subtitles"):
        response = requests.post(
            shared_server.url(path), files={"spec": (None, json.dumps(spec))}, headers=bearer_for(alice), timeout=30
        )
        assert response.status_code == 400 and response.json()["error"] == "unsupported_language", (path, response.text)
