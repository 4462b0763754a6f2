"""Every worker and the beat are killed while 20 jobs wait on Perso, then started again: the jobs
live in Postgres, not in a worker, so the new fleet finishes all of them — each Perso project
submitted once, and the poller resuming where the dead one stopped."""

import pytest

from apps.jobs.models import ExternalCall, Job, JobEvent, JobStatus
from apps.simulators.perso.engine import project_status
from apps.simulators.perso.state import sim_state
from tests.faults.conftest import describe, jobs_settled, subtitles_submit, timeline, wait_until

pytestmark = pytest.mark.worker

JOB_COUNT = 20
# Perso holds every project at its first stage while the jobs are submitted (however slow the
# machine), and finishes them while the fleet is down.
SIM_HOLD_STEP_SEC = 3600
FLEET = {"PERSO_MAX_IN_FLIGHT": JOB_COUNT, "JOB_REDISPATCH_AFTER_SEC": 20}


def _start_fleet(workers) -> None:
    workers.worker("upload", "upload,gemini", concurrency=2, **FLEET)
    workers.worker("perso", "perso,default", concurrency=2, **FLEET)
    workers.beat(**FLEET)


def _submitted_to_perso(job_ids: list[str]) -> bool:
    jobs = Job.objects.filter(public_id__in=job_ids)
    return all(job.status == JobStatus.WAITING and job.upstream.get("persoState") == "processing" for job in jobs)


def _perso_finishes_every_project() -> None:
    """Perso works on while nobody watches: every project's stages become short, so all complete."""
    with sim_state() as state:
        for project in state["projects"].values():
            project["stepSec"] = 0.01


def _perso_completed_every_project() -> bool:
    with sim_state(write=False) as state:
        return all(project_status(project).is_completed for project in state["projects"].values())


def test_every_worker_and_beat_restarted_while_20_jobs_wait_on_perso(alice_client, workers, perso_sim, speech_wav):
    perso_sim.control(step_sec=SIM_HOLD_STEP_SEC, queue_max=JOB_COUNT + 5)
    _start_fleet(workers)
    job_ids = [subtitles_submit(alice_client, speech_wav) for _ in range(JOB_COUNT)]

    wait_until(lambda: _submitted_to_perso(job_ids), timeout=180, what="all jobs waiting on Perso")
    workers.stop_all()  # SIGKILL: every worker process, its pool children, and the beat

    waiting = list(Job.objects.filter(public_id__in=job_ids))
    assert all(job.status == JobStatus.WAITING for job in waiting), describe(waiting)
    polls_before = {job.public_id: job.upstream.get("persoPolls", 0) for job in waiting}
    _perso_finishes_every_project()
    wait_until(_perso_completed_every_project, timeout=60, what="Perso to finish every project")

    _start_fleet(workers)
    wait_until(lambda: jobs_settled(job_ids), timeout=240, what="every job to finish after the restart", every=0.5)

    jobs = list(Job.objects.filter(public_id__in=job_ids))
    assert len(jobs) == JOB_COUNT
    assert all(job.status == JobStatus.SUCCEEDED for job in jobs), describe(jobs)
    for job in jobs:
        assert job.result.get("originalSrtKey"), job.public_id
        # The new poller resumed the old one's work: the job was polled after the restart.
        assert job.upstream["persoPolls"] > polls_before[job.public_id]
        # One project per job: nothing was submitted twice.
        submits = ExternalCall.objects.filter(job=job, endpoint__endswith="/stt", status_code__lt=300)
        assert submits.count() == 1, job.public_id
        assert timeline(job).count(JobEvent.Kind.SUCCEEDED) == 1
        body = alice_client.get(f"/api/v2/subtitles/{job.public_id}").json()
        assert body["status"] == "READY" and body["originalSrtUrl"], body
