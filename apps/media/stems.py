"""The stems a separation job holds, and a stem URL of ours (sent back by the phone to `/render`)
resolved to the stem's storage key: what apps.separation writes and apps.render reads."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.core.files.storage import default_storage

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, BadRequest
from apps.core.signing import verify_token
from apps.jobs.models import Job, JobKind, JobStatus

# Keys of a separation job's `result`.
RESULT_STEMS = "stems"  # [{"stemId", "label", "storageKey", "durationMs"}]

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


def stems_disposed(*, separation_job: Job) -> bool:
    """A successful mix consumed the stems (their files are deleted right after it succeeds)."""
    return Job.objects.filter(kind=JobKind.MIX, source_job=separation_job, status=JobStatus.SUCCEEDED).exists()


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


def stem_storage_key_from_url(audio_url: str, owner) -> str:
    """Resolves one of our signed stem URLs (path-only or with any host prefix) to the stem's storage key.

    Never fetches the URL: the path is parsed, the token re-checked, and the stem looked up in a
    separation job of `owner`. Any failure → BadRequest("invalid_stem_url", <why>).
    """
    if not isinstance(audio_url, str) or not audio_url.strip():
        raise BadRequest(ErrorCode.INVALID_STEM_URL, "audioUrl is empty")
    try:
        parts = urlsplit(audio_url.strip())
    except ValueError as exc:
        raise BadRequest(ErrorCode.INVALID_STEM_URL, f"audioUrl is not a URL: {exc}") from exc
    match = _STEM_URL_PATH.search(parts.path)
    if match is None:
        raise BadRequest(ErrorCode.INVALID_STEM_URL, "audioUrl is not a stem URL of this service")
    job_id, stem_id = match.group("job_id"), match.group("stem_id")
    tokens = parse_qs(parts.query).get("token")
    token = tokens[0] if tokens else None
    try:
        verify_token(token=token, job_id=job_id, resource_id=stem_id)
    except ApiError as exc:
        raise BadRequest(
            ErrorCode.INVALID_STEM_URL, f"stem URL token is missing, invalid or expired ({exc.code})"
        ) from exc
    job = Job.objects.filter(public_id=job_id, owner=owner, kind=JobKind.SEPARATION).first()
    if job is None:
        raise BadRequest(ErrorCode.INVALID_STEM_URL, f"separation job not found: {job_id}")
    stem = separation_stem_get(job=job, stem_id=stem_id)
    if stem is None:
        raise BadRequest(ErrorCode.INVALID_STEM_URL, f"stem {stem_id} is not available in {job_id}")
    if not default_storage.exists(stem.storage_key):
        raise BadRequest(ErrorCode.INVALID_STEM_URL, f"stem {stem_id} of {job_id} is no longer stored")
    return stem.storage_key
