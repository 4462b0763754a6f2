"""The status strings the phone reads, mapped from a job's internal status — defined once.

Subtitles, autodub and separation end in `READY`; mix and render end in `COMPLETED`. A job queued
between two stages has long started for the user, so it shows `PROCESSING`, not `PENDING`.
"""

from apps.jobs.models import Job, JobStatus
from apps.jobs.selectors import JobStatusSnapshot

PENDING, PROCESSING, FAILED = "PENDING", "PROCESSING", "FAILED"
READY, COMPLETED = "READY", "COMPLETED"
READY_STATUSES = [PENDING, PROCESSING, READY, FAILED]
COMPLETED_STATUSES = [PENDING, PROCESSING, COMPLETED, FAILED]


def _public_status(job: Job | JobStatusSnapshot, *, done: str) -> str:
    if job.status == JobStatus.SUCCEEDED:
        return done
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return FAILED
    if job.status == JobStatus.PENDING and job.started_at is None:
        return PENDING
    return PROCESSING


def ready_status(job: Job | JobStatusSnapshot) -> str:
    """Subtitles, autodub and separation: PENDING / PROCESSING / READY / FAILED."""
    return _public_status(job, done=READY)


def completed_status(job: Job | JobStatusSnapshot) -> str:
    """Mix and render: PENDING / PROCESSING / COMPLETED / FAILED."""
    return _public_status(job, done=COMPLETED)
