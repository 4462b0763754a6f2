"""Double taps: 20 identical submits fired at once (barrier-synchronised, over real HTTP) give one
job for every paid kind and for render, and at most one Perso project by the simulator's own count;
a reused Idempotency-Key with a different request is 422. The simulators run in their own process,
as `make run` serves them: 20 submits are more than the web server's threads, and each one's Perso
language check must not wait on a thread of the same pool (tests/abuse/conftest.py, own_simulators)."""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from apps.jobs.models import Job, JobKind
from tests.abuse.conftest import bearer_for
from tests.conftest import make_speech
from tests.faults.conftest import wait_until
from tests.support.media import lavfi_clip
from workers import queues

TAPS = 20
VIDEO_CONFIG = {
    "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "durationMs": 2000, "trimStartMs": 0,
                  "trimEndMs": 2000, "speedScale": 1.0, "volumeScale": 1.0}],
    "outputKind": "video",
}  # fmt: skip
SUBMITS = {
    JobKind.SUBTITLES: ("/api/v2/subtitles", "file", {"mediaType": "AUDIO", "sourceLanguageCode": "en"}),
    JobKind.AUTODUB: (
        "/api/v2/autodub",
        "file",
        {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "ko"},
    ),
    JobKind.SEPARATION: ("/api/v2/separate", "file", {"mediaType": "AUDIO", "sourceLanguageCode": "en"}),
    JobKind.RENDER: ("/api/v2/render", "video_0", VIDEO_CONFIG),
}


@pytest.fixture
def submit_server(start_server, own_simulators):
    return start_server(THROTTLE_SUBMIT="1000/min", SIMULATOR_BASE_URL=own_simulators)


@pytest.fixture
def speech(tmp_path, ffmpeg_tools) -> Path:
    return make_speech(tmp_path / "speech.wav", ["one submit makes one job.", "never two."], ffmpeg=ffmpeg_tools[0])


@pytest.fixture
def video(tmp_path, ffmpeg_tools) -> Path:
    return lavfi_clip(tmp_path / "clip.mp4", size="160x120", rate=15, seconds=2, ffmpeg=ffmpeg_tools[0])


def _submit(server, user, kind: str, source: Path, *, idempotency_key: str | None = None) -> requests.Response:
    import json

    path, part, spec = SUBMITS[kind]
    json_part = "config" if kind == JobKind.RENDER else "spec"
    headers = bearer_for(user)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    with open(source, "rb") as handle:
        files = [(part, (source.name, handle)), (json_part, (None, json.dumps(spec)))]
        return requests.post(server.url(path), files=files, headers=headers, timeout=120)


def _taps(server, user, kind: str, source: Path) -> list[requests.Response]:
    barrier = threading.Barrier(TAPS)

    def tap(_):
        barrier.wait()
        return _submit(server, user, kind, source)

    with ThreadPoolExecutor(max_workers=TAPS) as pool:
        return list(pool.map(tap, range(TAPS)))


@pytest.mark.parametrize("kind", sorted(SUBMITS))
def test_twenty_identical_concurrent_submits_make_one_job(submit_server, alice, kind, speech, video):
    server = submit_server
    source = video if kind == JobKind.RENDER else speech
    responses = _taps(server, alice, kind, source)
    assert {r.status_code for r in responses} <= {200, 202}, [(r.status_code, r.text[:200]) for r in responses]
    job_ids = {r.json()["jobId"] for r in responses}
    assert len(job_ids) == 1, job_ids
    assert Job.objects.filter(owner=alice, kind=kind).count() == 1


@pytest.mark.parametrize("kind", sorted(SUBMITS))
def test_idempotency_key_reused_with_a_different_request_is_422(submit_server, alice, kind, speech, video, tmp_path):
    server = submit_server
    source = video if kind == JobKind.RENDER else speech
    first = _submit(server, alice, kind, source, idempotency_key="tap-1")
    assert first.status_code in (200, 202), first.text
    again = _submit(server, alice, kind, source, idempotency_key="tap-1")
    assert again.json()["jobId"] == first.json()["jobId"]
    other = tmp_path / f"other{source.suffix}"
    other.write_bytes(source.read_bytes() + b"\0" * 16)  # another file (trailing bytes ffprobe ignores)
    reused = _submit(server, alice, kind, other, idempotency_key="tap-1")
    assert reused.status_code == 422, reused.text
    assert reused.json()["error"] == "idempotency_key_reused"
    assert Job.objects.filter(owner=alice, kind=kind).count() == 1


def test_double_taps_make_at_most_one_perso_project_per_request(
    submit_server, own_simulators, alice, speech, abuse_processes
):
    server = submit_server

    def perso_projects() -> int:
        return requests.get(f"{own_simulators}/sim/perso/_control", timeout=10).json()["projects"]

    projects_before = perso_projects()  # the module's simulators are shared with its other tests
    for kind in (JobKind.SUBTITLES, JobKind.AUTODUB, JobKind.SEPARATION):
        assert len({r.json()["jobId"] for r in _taps(server, alice, kind, speech)}) == 1
    worker = [
        sys.executable, "-m", "celery", "-A", "vibi", "worker", "-Q", ",".join(queues.ALL), "-c", "2",
        "-n", f"abuse-{server.port}@%h", "--without-mingle", "--without-gossip", "-l", "INFO",
    ]  # fmt: skip
    abuse_processes.start("worker", worker, {**server.env, "PERSO_API_BASE_URL": f"{own_simulators}/sim/perso"})

    def all_at_perso() -> bool:
        jobs = Job.objects.filter(owner=alice)
        return all(job.upstream.get("persoProjectSeq") or job.status in ("succeeded", "failed") for job in jobs)

    wait_until(all_at_perso, timeout=120, what="every job to reach Perso", every=0.5)
    assert perso_projects() - projects_before == 3
    assert os.environ.get("CELERY_REDIS_KEY_PREFIX")  # the worker used this run's own queues
