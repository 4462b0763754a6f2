"""End to end: the phone's multi-variant export through the HTTP API, rendered by a real Celery worker."""

import time

import pytest

from tests.render.helpers import download, submit
from tests.render.measure import probe_streams


@pytest.mark.django_db(transaction=True)
def test_cached_input_render_runs_on_the_render_queue_and_downloads(
    celery_worker_all_queues, alice_client, media, tmp_path
):
    video = media.video(seconds=3)
    cached = submit(alice_client, files={"video": video, "audios": [media.speech()]}, config=None,
                    url="/api/v2/render/inputs").json()  # fmt: skip
    config = {
        "dubClips": [{"audioFileKey": "audio_0", "startMs": 500, "durationMs": 0, "volume": 1.0}],
        "segments": [
            {"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 3000, "trimStartMs": 1000,
             "trimEndMs": 3000, "speedScale": 1.0, "volumeScale": 1.0, "width": 160, "height": 120},
            {"sourceFileKey": "segment_image_1", "type": "IMAGE", "order": 1, "durationMs": 1000,
             "trimStartMs": 0, "trimEndMs": 0},
        ],
        "imageClips": [{"imageFileKey": "image_0", "startMs": 0, "endMs": 500, "xPct": 10, "yPct": 10,
                        "widthPct": 10, "heightPct": 10}],
        "frame": None,
        "bgmClips": [],
        "audioOverrideKey": None,
        "separationDirectives": [],
        "outputLanguageCode": "original",
        "outputKind": "video",
    }  # fmt: skip
    files = {
        "segment_image_1": media.image("still.png", color="white"),
        "image_0": media.image(),
        "subtitles": media.ass(),
    }
    response = submit(alice_client, files=files, config=config, input_id=cached["inputId"])
    assert response.status_code == 200, response.data
    job_id = response.json()["jobId"]

    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = alice_client.get(f"/api/v2/render/{job_id}/status").json()
        assert isinstance(status["progress"], int)
        seen.append(status)
        if status["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.2)
    assert seen[-1]["status"] == "COMPLETED", seen[-1]
    progresses = [s["progress"] for s in seen]
    assert progresses == sorted(progresses) and progresses[-1] == 100

    streams = probe_streams(download(alice_client, job_id, tmp_path / "out.mp4"))
    assert abs(streams["duration"] - 3.0) <= 1 / 30
    assert (streams["video"]["width"], streams["video"]["height"]) == (160, 120)
    assert "audio" in streams
