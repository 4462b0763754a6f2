"""Reads of separation and mix jobs: the mix holding a separation's stems, signed stem and mix URLs. The stems
themselves and a stem URL resolved to its storage key are read in apps.media.stems."""

from django.conf import settings

from apps.core.signing import signed_path, token_expiry
from apps.jobs.models import Job, JobKind, JobStatus

# Keys of a mix job's `result`.
RESULT_MIX_OUTPUT_KEY = "outputKey"
RESULT_MIX_DURATION_MS = "durationMs"

MIX_RESOURCE_ID = "download"


def stem_path(*, job_id: str, stem_id: str) -> str:
    return f"/api/v2/separate/{job_id}/stem/{stem_id}"


def mix_download_path(*, mix_job_id: str) -> str:
    return f"/api/v2/separate/mix/{mix_job_id}/download"


def live_mix_of(*, separation_job: Job) -> Job | None:
    """The mix holding the separation's stems: one queued, running or succeeded. A failed or cancelled
    mix holds nothing, so a failure releases the reservation without any bookkeeping."""
    return (
        Job.objects.filter(kind=JobKind.MIX, source_job=separation_job)
        .exclude(status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
        .order_by("-created_at")
        .first()
    )


def signed_stem_url(*, job: Job, stem_id: str) -> str:
    """Path-only and signed: the phone stores it for days and plays it without headers."""
    not_after = int(job.expires_at.timestamp()) if job.expires_at else None
    expires_at = token_expiry(ttl_sec=settings.SEPARATION_URL_TTL_SEC, not_after=not_after)
    return signed_path(
        stem_path(job_id=job.public_id, stem_id=stem_id),
        job_id=job.public_id,
        resource_id=stem_id,
        expires_at=expires_at,
    )


def signed_mix_download_url(*, mix_job: Job) -> str:
    not_after = int(mix_job.expires_at.timestamp()) if mix_job.expires_at else None
    expires_at = token_expiry(ttl_sec=settings.SEPARATION_MIX_URL_TTL_SEC, not_after=not_after)
    return signed_path(
        mix_download_path(mix_job_id=mix_job.public_id),
        job_id=mix_job.public_id,
        resource_id=MIX_RESOURCE_ID,
        expires_at=expires_at,
    )
