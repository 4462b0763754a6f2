"""Job rows arranged directly, for tests of what comes after a pipeline (not the pipeline itself)."""

from apps.jobs.models import Job, JobStatus
from apps.jobs.services import new_public_id


def finished_job(owner, kind: str, *, result: dict, public_id: str | None = None, **fields) -> Job:
    """A SUCCEEDED job of `owner` with `result`, as its pipeline leaves it; `fields` set any other column."""
    return Job.objects.create(
        public_id=public_id or new_public_id(kind),
        kind=kind,
        owner=owner,
        status=JobStatus.SUCCEEDED,
        progress=100,
        result=result,
        **fields,
    )
