"""Reads of subtitles jobs: their SRT files and their signed path-only URLs."""

from django.conf import settings

from apps.core.signing import signed_path, token_expiry
from apps.jobs.models import Job, JobStatus
from apps.subtitles.services import RESULT_ORIGINAL_KEY, RESULT_TRANSLATIONS

ORIGINAL = "original"


def srt_resource_id(lang: str) -> str:
    """The signed resource of an SRT: "original" or "t_<lang>"."""
    return ORIGINAL if lang == ORIGINAL else f"t_{lang}"


def srt_storage_key(*, job: Job, lang: str) -> str | None:
    """The stored SRT of a finished job for `lang` ("original" or a requested target), else None."""
    if job.status != JobStatus.SUCCEEDED:
        return None
    if lang == ORIGINAL:
        return job.result.get(RESULT_ORIGINAL_KEY)
    return (job.result.get(RESULT_TRANSLATIONS) or {}).get(lang)


def signed_srt_url(*, job: Job, lang: str) -> str:
    expires_at = token_expiry(
        ttl_sec=settings.SEPARATION_URL_TTL_SEC,
        not_after=int(job.expires_at.timestamp()) if job.expires_at else None,
    )
    return signed_path(
        f"/api/v2/subtitles/{job.public_id}/srt",
        job_id=job.public_id,
        resource_id=srt_resource_id(lang),
        expires_at=expires_at,
        lang=lang,
    )


def subtitles_urls(*, job: Job) -> tuple[str | None, dict[str, str]]:
    """(originalSrtUrl, translatedSrtUrlsByLang) of a READY job, in the order the targets were asked."""
    if job.status != JobStatus.SUCCEEDED or not job.result.get(RESULT_ORIGINAL_KEY):
        return None, {}
    translations = job.result.get(RESULT_TRANSLATIONS) or {}
    # jsonb does not keep key order: the order of the request is the spec's list.
    ordered = [lang for lang in job.spec.get("targetLanguageCodes") or [] if lang in translations]
    ordered += [lang for lang in translations if lang not in ordered]
    by_lang = {lang: signed_srt_url(job=job, lang=lang) for lang in ordered}
    return signed_srt_url(job=job, lang=ORIGINAL), by_lang
