"""Stage tasks the I/O-concurrency test sends to a real `vibi worker upload` process (loaded there
with `--include`): each waits on the network-less equivalent of an upstream, another job."""

import os
import tempfile
import time

from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure
from apps.jobs.models import Job
from apps.jobs.services import job_heartbeat, job_succeed
from workers.base import job_stage_task

WAITING_PROGRESS = 50  # a job at or past it has reached its wait (progress never goes back)
GIVE_UP_SEC = 90  # not an assertion: a worker that runs one task at a time never gets past the wait


@job_stage_task(soft_time_limit=300)
def wait_for_the_other_job_task(job):
    """Says it is waiting, then waits until every job named in its spec has reached its wait too."""
    job_heartbeat(job=job, progress=WAITING_PROGRESS, progress_reason="waiting for the other job")
    others = job.spec["waitFor"]
    deadline = time.monotonic() + GIVE_UP_SEC
    while Job.objects.filter(pk__in=others, progress__gte=WAITING_PROGRESS).count() < len(others):
        if time.monotonic() > deadline:
            raise JobFailure(ErrorCode.INTERNAL_ERROR, "the other job never ran while this one waited")
        time.sleep(0.1)
    job_succeed(job=job, result_updates={"pid": os.getpid(), "scratch": tempfile.gettempdir()})


@job_stage_task(soft_time_limit=2)
def outlive_the_time_limit_task(job):
    """Waits (as on a slow upstream) far past its soft time limit, in short blocking calls."""
    job_heartbeat(job=job, progress=WAITING_PROGRESS, progress_reason="waiting past the limit")
    deadline = time.monotonic() + GIVE_UP_SEC
    while time.monotonic() < deadline:
        time.sleep(0.1)
    job_succeed(job=job)
