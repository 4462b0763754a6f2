"""A render's life on a render host: slots, cancel, timeout, redelivery after a lost worker, cleanup,
and the render output as a source for other capabilities."""

import fcntl
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from apps.core.errors import NotFound
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_cancel, job_claim
from apps.media.sources import render_output_source
from tests.render.helpers import ffmpeg_processes_of, run_render, submit
from tests.support.waiting import wait_until


def _heavy_config(segment_count: int, size=(1280, 720)) -> dict:
    """Many full-size segments from one small clip: a render that takes ffmpeg a while."""
    return {
        "segments": [
            {"sourceFileKey": f"video_{i}", "type": "VIDEO", "order": i, "trimStartMs": 0, "trimEndMs": 0}
            for i in range(segment_count)
        ],
        "frame": {"width": size[0], "height": size[1], "backgroundColorHex": "#000000"},
        "quality": "high",
    }


def _run_in_thread(job_id: str) -> threading.Thread:
    def target():
        try:
            run_render(job_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_cancel_kills_ffmpeg_and_removes_temp_files(alice_client, media, render_work_dir):
    clip = media.video(seconds=2)
    response = submit(alice_client, files={f"video_{i}": clip for i in range(10)}, config=_heavy_config(10))
    job_id = response.data["jobId"]
    thread = _run_in_thread(job_id)
    pids = wait_until(lambda: ffmpeg_processes_of(job_id), timeout=30, what="the render's ffmpeg", every=0.1)

    job_cancel(job=Job.objects.get(public_id=job_id))
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert not ffmpeg_processes_of(job_id)
    assert all(not Path(f"/proc/{pid}").exists() or b"ffmpeg" not in Path(f"/proc/{pid}/cmdline").read_bytes()
               for pid in pids)  # fmt: skip
    job = Job.objects.get(public_id=job_id)
    assert job.status == JobStatus.CANCELLED
    assert list((render_work_dir / "jobs").iterdir()) == []
    status = alice_client.get(f"/api/v2/render/{job_id}/status").json()
    assert (status["status"], status["error"]) == ("FAILED", "Cancelled")


@pytest.mark.django_db(transaction=True)
def test_render_waits_queued_for_a_free_slot(alice_client, media, render_work_dir, settings):
    settings.RENDER_MAX_CONCURRENT = 1
    response = submit(alice_client, files={"video": media.video(seconds=1)}, config={"dubClips": []})
    job_id = response.data["jobId"]
    slots = render_work_dir / "slots"
    slots.mkdir(parents=True)
    with open(slots / "slot-0.lock", "a+") as busy_slot:
        fcntl.flock(busy_slot, fcntl.LOCK_EX)  # another render holds the only slot of this host
        thread = _run_in_thread(job_id)
        status = wait_until(
            lambda: (s := alice_client.get(f"/api/v2/render/{job_id}/status").json())["status"] == "PROCESSING" and s,
            timeout=30,
            what="the render to wait for a slot",
            every=0.1,
        )
        assert status["progressReason"] == "queued" and status["progress"] == 0
        time.sleep(1.5)
        assert Job.objects.get(public_id=job_id).progress_reason == "queued"
        fcntl.flock(busy_slot, fcntl.LOCK_UN)
    thread.join(timeout=60)
    assert alice_client.get(f"/api/v2/render/{job_id}/status").json()["status"] == "COMPLETED"


@pytest.mark.django_db
def test_timeout_fails_the_job_with_the_stderr_tail_and_cleans_up(alice_client, media, render_work_dir, settings):
    settings.RENDER_TIMEOUT_BASE_SEC = 0
    settings.RENDER_TIMEOUT_PER_OUTPUT_SEC = 0
    clip = media.video(seconds=2)
    response = submit(alice_client, files={f"video_{i}": clip for i in range(6)}, config=_heavy_config(6))
    job = run_render(response.data["jobId"])
    assert (job.status, job.error_code) == (JobStatus.FAILED, "render_timeout")
    assert job.error_detail.startswith("ffmpeg timed out after 0s\n")
    assert len(job.error_detail.splitlines()) > 10  # the stderr tail follows
    assert not ffmpeg_processes_of(job.public_id)
    assert list((render_work_dir / "jobs").iterdir()) == []
    status = alice_client.get(f"/api/v2/render/{job.public_id}/status").json()
    assert status["status"] == "FAILED" and status["error"].startswith("ffmpeg timed out")
    assert "\n" not in status["error"]


@pytest.mark.django_db
def test_a_render_whose_worker_died_is_redelivered_and_completes(alice_client, media):
    response = submit(alice_client, files={"video": media.video(seconds=1)}, config={"dubClips": []})
    job = Job.objects.get(public_id=response.data["jobId"])
    assert job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq) is not None  # a worker took it, then died
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    job = run_render(job.public_id)  # acks_late: the broker hands the same message to another worker
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


@pytest.mark.django_db
def test_render_output_source_serves_the_owners_finished_render_and_slides_its_ttl(alice_client, alice, bob, media):
    response = submit(
        alice_client, files={"video": media.video(seconds=1)}, config={"dubClips": [], "outputKind": "audio"}
    )
    job_id = response.data["jobId"]
    message = f"editedRenderJobId not found or not ready: {job_id}"
    with pytest.raises(NotFound) as not_ready:
        render_output_source(owner=alice, render_job_id=job_id)
    assert (not_ready.value.code, not_ready.value.detail) == ("not_found", message)

    run_render(job_id)
    Job.objects.filter(public_id=job_id).update(expires_at=timezone.now() + timedelta(minutes=5))
    source = render_output_source(owner=alice, render_job_id=job_id)
    assert source.output_kind == "audio" and source.storage_key.endswith("output.m4a")
    assert abs(source.duration_ms - 1000) <= 34
    assert source.job.expires_at > timezone.now() + timedelta(hours=1)
    assert Job.objects.get(public_id=job_id).expires_at == source.job.expires_at

    with pytest.raises(NotFound) as foreign:
        render_output_source(owner=bob, render_job_id=job_id)
    assert foreign.value.detail == message
    with pytest.raises(NotFound):
        render_output_source(owner=alice, render_job_id="rnd-does-not-exist")
    Job.objects.filter(public_id=job_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        render_output_source(owner=alice, render_job_id=job_id)
