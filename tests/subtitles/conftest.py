"""Fixtures of the subtitles and autodub tests: speech media made with espeak-ng, the whole pipeline
(real worker, Perso and Gemini simulators over HTTP), and a way to wait for a job through the API."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id
from tests.conftest import SPEECH_SENTENCES
from tests.support.jobs import finished_job


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, timeout=120)


def ffprobe_json(path: Path) -> dict:
    completed = run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)])
    return json.loads(completed.stdout)


def media_duration_ms(path: Path) -> int:
    return int(float(ffprobe_json(path)["format"]["duration"]) * 1000)


@pytest.fixture
def speech_video(tmp_path, speech_wav) -> Path:
    """The speech under a test-pattern video, as the phone uploads it (H.264/AAC mp4)."""
    target = tmp_path / "speech.mp4"
    seconds = media_duration_ms(speech_wav) / 1000
    run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]
        + ["-i", str(speech_wav), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast"]
        + ["-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-metadata", f"comment={'|'.join(SPEECH_SENTENCES)}"]
        + [str(target)]
    )
    return target


@pytest.fixture
def pipeline(celery_worker_all_queues, perso_sim, gemini_sim, settings):
    """Everything a job runs through: a real worker on every queue, both simulators (fast timings,
    reset), and quick client retries. Returns the live server's base URL."""
    # Production never polls Perso sooner than every 5 s (it rate-limits faster polling); the
    # simulator does not, and the tests drive the poller themselves (no beat runs here).
    settings.PERSO_POLL_FIRST_DELAY_SEC = 0
    settings.PERSO_POLL_MAX_INTERVAL_SEC = 0
    return gemini_sim


def perso_sim_control(base_url: str, **changes) -> dict:
    response = requests.post(f"{base_url}/sim/perso/_control", json=changes, timeout=10)
    response.raise_for_status()
    return response.json()


def wait_for_job(api_client, status_path: str, *, timeout: float = 45.0) -> dict:
    """Polls the status endpoint like the phone does, running the Perso poller each round (the beat's work)."""
    from apps.perso.polling import poll_due_jobs

    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        poll_due_jobs()
        response = api_client.get(status_path)
        assert response.status_code == 200, response.content
        body = response.json()
        if body["status"] in ("READY", "FAILED"):
            return body
        time.sleep(0.15)
    raise AssertionError(f"job did not finish in {timeout}s; last status {body}")


def submit(api_client, path: str, *, spec: dict | str | None, file_path: Path | None = None, field: str = "file"):
    """A multipart submit shaped like the phone's: the file part first, the JSON spec last."""
    data = {}
    handle = None
    if file_path is not None:
        handle = open(file_path, "rb")
        data[field] = handle
    if spec is not None:
        data["spec"] = spec if isinstance(spec, str) else json.dumps(spec)
    try:
        return api_client.post(path, data, format="multipart")
    finally:
        if handle:
            handle.close()


def accepted_job_id(response, prefix: str) -> str:
    """The jobId of a submit answered 202, checked to start with its kind's `prefix`."""
    assert response.status_code == 202, response.content
    job_id = response.json()["jobId"]
    assert job_id.startswith(prefix), job_id
    return job_id


def download(client, url: str, **headers):
    """GETs a path-only signed URL with no Bearer (as a media player does)."""
    return client.get(url, **headers)


def body_bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def finished_render(*, owner, source: Path, output_kind: str) -> Job:
    """A succeeded render job row whose output is `source` (arranged directly: rendering is not under test here)."""
    public_id = new_public_id(JobKind.RENDER)
    key = storage_save_file(key=job_file_key(public_id, f"output{source.suffix}"), local_path=source)
    result = {"output_key": key, "output_kind": output_kind, "duration_ms": media_duration_ms(source)}
    return finished_job(owner, JobKind.RENDER, public_id=public_id, stage="render", result=result)
