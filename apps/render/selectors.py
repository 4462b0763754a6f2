"""Reads of render jobs: a caller's render by public id. A finished render's output as a source for
another capability (`editedRenderJobId`) is read in apps.media.sources."""

from apps.core.error_codes import ErrorCode
from apps.core.errors import NotFound
from apps.jobs.models import Job, JobKind


def render_job_get(*, owner, public_id: str) -> Job:
    """The caller's render job, else 404 (another user's id is not found, never forbidden)."""
    job = Job.objects.filter(public_id=public_id, owner=owner, kind=JobKind.RENDER).first()
    if job is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"Render job not found: {public_id}")
    return job
