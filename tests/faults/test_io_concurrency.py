"""One worker process of an I/O queue runs several stages at once (workers/pools.py: a threads pool),
with the stage machinery of workers/base.py intact: each stage claims its job, keeps its lease and
succeeds once, and a stage over its soft time limit is stopped although no signal can reach a thread."""

from pathlib import Path

import pytest
from celery import current_app

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_create
from tests.faults import io_stage_tasks
from tests.faults.conftest import TERMINAL, wait_until
from workers import queues
from workers.base import scratch_dir_name
from workers.pools import worker_command

pytestmark = pytest.mark.worker


def _start_upload_worker(workers):
    """The upload worker exactly as the image starts it, plus the test's stage tasks."""
    argv = worker_command([queues.UPLOAD], node="upload-io@%h")
    argv += ["--include", io_stage_tasks.__name__, "--without-mingle", "--without-gossip"]
    return workers.processes.start("worker-upload", argv, workers.env(JOB_LEASE_SEC=10))


def _pending_job(owner, *, stage: str, spec: dict) -> Job:
    job, _ = job_create(kind=JobKind.SEPARATION, owner=owner, spec=spec, first_stage=None)
    Job.objects.filter(pk=job.pk).update(stage=stage, status=JobStatus.PENDING)
    job.refresh_from_db()
    return job


def _send(task, job: Job) -> None:
    current_app.send_task(task.name, args=[job.pk, job.dispatch_seq], queue=queues.UPLOAD)


def _ended(*jobs: Job) -> bool:
    return Job.objects.filter(pk__in=[job.pk for job in jobs], status__in=TERMINAL).count() == len(jobs)


def test_two_stages_of_one_queue_wait_at_the_same_time_in_one_worker_process(alice, workers):
    first = _pending_job(alice, stage="overlap", spec={})
    second = _pending_job(alice, stage="overlap", spec={"waitFor": [first.pk]})
    Job.objects.filter(pk=first.pk).update(spec={"waitFor": [second.pk]})
    worker = _start_upload_worker(workers)

    _send(io_stage_tasks.wait_for_the_other_job_task, first)
    _send(io_stage_tasks.wait_for_the_other_job_task, second)

    wait_until(lambda: _ended(first, second), timeout=180, what="both overlapping stages to end")
    for job in (first, second):
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_detail)
        assert job.attempts == 1
        # Both waited in the worker's own process (its threads), not in pool children, and kept their
        # temporary files in that process's own scratch folder (swept if the process dies).
        assert job.result["pid"] == worker.pid
        assert Path(job.result["scratch"]).name == scratch_dir_name(worker.pid)


def test_a_stage_in_a_pool_thread_is_stopped_at_its_soft_time_limit(alice, workers):
    job = _pending_job(alice, stage="slow", spec={})
    _start_upload_worker(workers)

    _send(io_stage_tasks.outlive_the_time_limit_task, job)

    wait_until(lambda: _ended(job), timeout=120, what="the stage to be stopped")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "stage_timeout", (job.error_code, job.error_detail)
