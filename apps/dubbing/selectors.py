"""Reads of autodub jobs: their dubbed files and their signed path-only URLs."""

from django.conf import settings

from apps.core.signing import signed_path, token_expiry
from apps.dubbing.services import RESULT_AUDIO_KEY, RESULT_VIDEO_KEY
from apps.jobs.models import Job, JobStatus

AUDIO_RESOURCE_ID = "dubbed"
VIDEO_RESOURCE_ID = "dubbedvideo"


def dubbed_storage_key(*, job: Job, resource_id: str) -> str | None:
    if job.status != JobStatus.SUCCEEDED:
        return None
    return job.result.get(RESULT_AUDIO_KEY if resource_id == AUDIO_RESOURCE_ID else RESULT_VIDEO_KEY)


def _signed(job: Job, *, resource_id: str, leaf: str) -> str:
    expires_at = token_expiry(
        ttl_sec=settings.SEPARATION_URL_TTL_SEC,
        not_after=int(job.expires_at.timestamp()) if job.expires_at else None,
    )
    return signed_path(
        f"/api/v2/autodub/{job.public_id}/{leaf}", job_id=job.public_id, resource_id=resource_id, expires_at=expires_at
    )


def dubbed_urls(*, job: Job) -> tuple[str | None, str | None]:
    """(dubbedAudioUrl, dubbedVideoUrl) of a READY job."""
    audio_key = dubbed_storage_key(job=job, resource_id=AUDIO_RESOURCE_ID)
    video_key = dubbed_storage_key(job=job, resource_id=VIDEO_RESOURCE_ID)
    audio_url = _signed(job, resource_id=AUDIO_RESOURCE_ID, leaf="audio") if audio_key else None
    video_url = _signed(job, resource_id=VIDEO_RESOURCE_ID, leaf="video") if video_key else None
    return audio_url, video_url
