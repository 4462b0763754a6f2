"""Reads of render jobs: a caller's render by public id, and a finished render's output as a source
for another capability (`editedRenderJobId` in subtitles, autodub and separation)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from apps.core.errors import NotFound
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_touch_expiry

# Keys of `Job.result` written by a successful render (apps.render.services.render_run).
RESULT_OUTPUT_KEY = "output_key"
RESULT_OUTPUT_KIND = "output_kind"
RESULT_DURATION_MS = "duration_ms"


@dataclass(frozen=True)
class RenderOutput:
    storage_key: str
    output_kind: str  # "video" | "audio"
    duration_ms: int
    job: Job


def render_job_get(*, owner, public_id: str) -> Job:
    """The caller's render job, else 404 (another user's id is not found, never forbidden)."""
    job = Job.objects.filter(public_id=public_id, owner=owner, kind=JobKind.RENDER).first()
    if job is None:
        raise NotFound("not_found", f"Render job not found: {public_id}")
    return job


def render_output_source(*, owner, render_job_id: str) -> RenderOutput:
    """A completed render of `owner` as a source file; refreshes the output's sliding TTL.

    Raises NotFound("not_found", "editedRenderJobId not found or not ready: <id>") for an
    unknown id, another user's render, a render that has not completed, or an expired output.
    """
    not_ready = NotFound("not_found", f"editedRenderJobId not found or not ready: {render_job_id}")
    job = Job.objects.filter(public_id=render_job_id, owner=owner, kind=JobKind.RENDER).first()
    if job is None or job.status != JobStatus.SUCCEEDED or not job.result.get(RESULT_OUTPUT_KEY):
        raise not_ready
    if _expired(job.expires_at):
        raise not_ready
    job_touch_expiry(job=job, ttl_sec=settings.RENDER_OUTPUT_TTL_SEC)
    return RenderOutput(
        storage_key=job.result[RESULT_OUTPUT_KEY],
        output_kind=job.result.get(RESULT_OUTPUT_KIND, "video"),
        duration_ms=int(job.result.get(RESULT_DURATION_MS, 0)),
        job=job,
    )


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= timezone.now()
