"""kill -9 of a render worker in the middle of a render: the job is re-sent by the reconciler and
completes exactly once, and the killed worker's ffmpeg does not outlive it."""

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from apps.jobs.models import Job, JobEvent, JobStatus
from apps.jobs.services import jobs_reconcile
from apps.media.ffmpeg import FfmpegError, NotMedia, probe
from tests.faults.conftest import timeline, wait_for_job_success, wait_until
from tests.render.helpers import ffmpeg_processes_of, submit

pytestmark = pytest.mark.worker

OUTPUT_SECONDS = 30
# A lease this short lets the reconciler notice the dead worker a few seconds after the kill; the
# render heartbeats every 2 s, so a live render keeps it.
LEASE_SEC = 5


def _render_config() -> dict:
    # 640x360 at the "high" quality (libx264 preset medium): ffmpeg needs several seconds here.
    return {
        "segments": [{"sourceFileKey": "video_0", "type": "VIDEO", "order": 0, "trimStartMs": 0, "trimEndMs": 0}],
        "frame": {"width": 640, "height": 360, "backgroundColorHex": "#000000"},
        "quality": "high",
    }


def _scratch_outputs(job_id: str) -> list[Path]:
    return list((Path(os.environ["VIBI_DATA_DIR"]) / "render-work" / "jobs").glob(f"{job_id}-*/output.mp4"))


def _probes(path: Path) -> bool:
    try:
        probe(path)
    except (FfmpegError, NotMedia):
        return False
    return True


@pytest.fixture
def no_orphan_ffmpeg_left():
    """Kills (by pid) any ffmpeg a failed run left behind, so it cannot slow the tests after it."""
    job_ids: list[str] = []
    yield job_ids
    for job_id in job_ids:
        for pid in ffmpeg_processes_of(job_id):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_render_worker_killed_mid_render_completes_once(
    alice_client, workers, processes, make_media, no_orphan_ffmpeg_left
):
    clip = make_media("clip.mp4", seconds=OUTPUT_SECONDS, video=True, size="320x240")
    response = submit(alice_client, files={"video_0": clip}, config=_render_config())
    assert response.status_code == 200, response.content
    job_id = response.json()["jobId"]
    no_orphan_ffmpeg_left.append(job_id)
    job = Job.objects.get(public_id=job_id)

    workers.worker("render-a", "render", JOB_LEASE_SEC=LEASE_SEC)
    wait_until(lambda: ffmpeg_processes_of(job_id), timeout=60, what="the first render's ffmpeg")
    # Mid-render: ffmpeg has reported progress through the heartbeat, and is far from done.
    wait_until(lambda: Job.objects.filter(pk=job.pk, progress__gte=5).exists(), timeout=60, what="render progress")
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and job.progress < 80, (job.status, job.progress)

    scratch = _scratch_outputs(job_id)
    job.refresh_from_db()
    lease_at_kill = job.lease_expires_at
    processes.kill("render-a")  # SIGKILL to the worker's process group: main process and pool child

    # ffmpeg runs in a process group of its own; it must still die with the worker that ran it. Had it
    # rendered on to the end, its output would be whole: killed, it never writes the moov atom.
    wait_until(lambda: not ffmpeg_processes_of(job_id), timeout=60, what="the killed worker's ffmpeg to exit")
    assert scratch and not _probes(scratch[0]), "ffmpeg finished its render after its worker was killed"
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING  # nobody knows yet: the lease still runs

    workers.worker("render-b", "render", JOB_LEASE_SEC=LEASE_SEC)
    # The reconciler (beat's reconcile_jobs_task; called here directly) re-sends the stage once the
    # dead worker's lease has expired.
    wait_until(lambda: jobs_reconcile(), timeout=LEASE_SEC + 60, what="the reconciler to re-send the render")
    wait_for_job_success(job, timeout=120, what="the re-sent render to finish")

    events = timeline(job)
    assert events.count(JobEvent.Kind.SUCCEEDED) == 1
    assert events.count(JobEvent.Kind.REDISPATCH) == 1
    redispatch = JobEvent.objects.get(job=job, kind=JobEvent.Kind.REDISPATCH)
    assert "lease expired" in redispatch.message
    starts = list(JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STAGE, message__startswith="started render"))
    assert [event.message for event in starts] == ["started render (attempt 1)", "started render (attempt 2)"]
    assert starts[0].at < redispatch.at < starts[1].at
    assert redispatch.at >= lease_at_kill  # re-sent because the lease ran out, not before

    # One output in storage (the inputs go when the render succeeds), and it is whole.
    stored = sorted(path.name for path in (Path(settings.MEDIA_ROOT) / "jobs" / job_id).iterdir())
    assert stored == ["output.mp4"]
    assert job.result["output_key"] == f"jobs/{job_id}/output.mp4"
    info = probe(Path(settings.MEDIA_ROOT) / job.result["output_key"])
    assert abs(info.duration_ms - OUTPUT_SECONDS * 1000) <= 100
    assert info.video.width == 640 and info.video.height == 360
    assert not ffmpeg_processes_of(job_id)
    # The second run removed the killed run's scratch folder before starting, and its own after.
    leftovers = list((Path(os.environ["VIBI_DATA_DIR"]) / "render-work" / "jobs").glob(f"{job_id}-*"))
    assert leftovers == []
