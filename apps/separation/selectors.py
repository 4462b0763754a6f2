"""Reads of separation and mix jobs: the caller's jobs by id, stems with signed URLs, and a stem URL of
ours (sent back by the phone to `/render`) resolved to the stem's storage key."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.errors import ApiError, BadRequest, NotFound
from apps.core.signing import signed_path, token_expiry, verify_token
from apps.jobs.models import Job, JobKind, JobStatus

# Keys of a separation job's `result`.
RESULT_STEMS = "stems"  # [{"stemId", "label", "storageKey", "durationMs"}]

# Keys of a mix job's `result`.
RESULT_MIX_OUTPUT_KEY = "outputKey"
RESULT_MIX_DURATION_MS = "durationMs"

MIX_RESOURCE_ID = "download"

STEM_ID_PATTERN = r"(?:voice_all|background|speaker_(?:0|[1-9][0-9]{0,2}))"
_STEM_URL_PATH = re.compile(
    r"/api/v2/separate/(?P<job_id>sep-[0-9a-fA-F-]{1,64})/stem/(?P<stem_id>" + STEM_ID_PATTERN + r")$"
)


@dataclass(frozen=True)
class Stem:
    stem_id: str
    label: str
    storage_key: str
    duration_ms: int | None


def stem_label(stem_id: str) -> str:
    if stem_id == "voice_all":
        return "All speakers"
    if stem_id == "background":
        return "Background audio"
    if stem_id.startswith("speaker_"):
        return f"Speaker {int(stem_id.removeprefix('speaker_')) + 1}"
    return stem_id


def stem_path(*, job_id: str, stem_id: str) -> str:
    return f"/api/v2/separate/{job_id}/stem/{stem_id}"


def mix_download_path(*, mix_job_id: str) -> str:
    return f"/api/v2/separate/mix/{mix_job_id}/download"


def separation_job_get(*, owner, public_id: str) -> Job:
    """The caller's separation job, else 404 (another user's id is not found, never forbidden)."""
    job = Job.objects.filter(public_id=public_id, owner=owner, kind=JobKind.SEPARATION).first()
    if job is None:
        raise NotFound("not_found", f"Separation job not found: {public_id}")
    return job


def mix_job_get(*, owner, public_id: str) -> Job:
    job = Job.objects.filter(public_id=public_id, owner=owner, kind=JobKind.MIX).first()
    if job is None:
        raise NotFound("not_found", f"Mix job not found: {public_id}")
    return job


def live_mix_of(*, separation_job: Job) -> Job | None:
    """The mix holding the separation's stems: one queued, running or succeeded. A failed or cancelled
    mix holds nothing, so a failure releases the reservation without any bookkeeping."""
    return (
        Job.objects.filter(kind=JobKind.MIX, source_job=separation_job)
        .exclude(status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
        .order_by("-created_at")
        .first()
    )


def stems_disposed(*, separation_job: Job) -> bool:
    """A successful mix consumed the stems (their files are deleted right after it succeeds)."""
    return Job.objects.filter(kind=JobKind.MIX, source_job=separation_job, status=JobStatus.SUCCEEDED).exists()


def separation_job_by_public_id(*, public_id: str) -> Job:
    """Any user's separation job: for the token-authorised stream, whose token already names the job."""
    job = Job.objects.filter(public_id=public_id, kind=JobKind.SEPARATION).first()
    if job is None:
        raise NotFound("not_found", f"Separation job not found: {public_id}")
    return job


def mix_job_by_public_id(*, public_id: str) -> Job:
    job = Job.objects.filter(public_id=public_id, kind=JobKind.MIX).first()
    if job is None:
        raise NotFound("not_found", f"Mix job not found: {public_id}")
    return job


def separation_stems(*, job: Job) -> list[Stem]:
    """The stems a separation job still holds (none before READY, none once a mix consumed them)."""
    if job.status != JobStatus.SUCCEEDED or stems_disposed(separation_job=job):
        return []
    return [
        Stem(
            stem_id=entry["stemId"],
            label=entry.get("label") or stem_label(entry["stemId"]),
            storage_key=entry["storageKey"],
            duration_ms=entry.get("durationMs"),
        )
        for entry in job.result.get(RESULT_STEMS) or []
    ]


def separation_stem_get(*, job: Job, stem_id: str) -> Stem | None:
    return next((stem for stem in separation_stems(job=job) if stem.stem_id == stem_id), None)


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


def stem_storage_key_from_url(audio_url: str, owner) -> str:
    """Resolves one of our signed stem URLs (path-only or with any host prefix) to the stem's storage key.

    Never fetches the URL: the path is parsed, the token re-checked, and the stem looked up in a
    separation job of `owner`. Any failure → BadRequest("invalid_stem_url", <why>).
    """
    if not isinstance(audio_url, str) or not audio_url.strip():
        raise BadRequest("invalid_stem_url", "audioUrl is empty")
    try:
        parts = urlsplit(audio_url.strip())
    except ValueError as exc:
        raise BadRequest("invalid_stem_url", f"audioUrl is not a URL: {exc}") from exc
    match = _STEM_URL_PATH.search(parts.path)
    if match is None:
        raise BadRequest("invalid_stem_url", "audioUrl is not a stem URL of this service")
    job_id, stem_id = match.group("job_id"), match.group("stem_id")
    token = (parse_qs(parts.query).get("token") or [None])[0]
    try:
        verify_token(token=token, job_id=job_id, resource_id=stem_id)
    except ApiError as exc:
        raise BadRequest("invalid_stem_url", f"stem URL token is missing, invalid or expired ({exc.code})") from exc
    job = Job.objects.filter(public_id=job_id, owner=owner, kind=JobKind.SEPARATION).first()
    if job is None:
        raise BadRequest("invalid_stem_url", f"separation job not found: {job_id}")
    stem = separation_stem_get(job=job, stem_id=stem_id)
    if stem is None:
        raise BadRequest("invalid_stem_url", f"stem {stem_id} is not available in {job_id}")
    if not default_storage.exists(stem.storage_key):
        raise BadRequest("invalid_stem_url", f"stem {stem_id} of {job_id} is no longer stored")
    return stem.storage_key
