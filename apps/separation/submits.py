"""Submits of a separation and of its stem mix: the request checks, the idempotency keys (a
request's own key or the Idempotency-Key header) and the reuse of a live job, the staging of an
uploaded source, and the mix reservation (one mix per separation)."""

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, Conflict, NotFound
from apps.core.storage import local_copy, storage_save_file
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_create
from apps.jobs.submits import (
    SPEC_REQUEST_FINGERPRINT,
    SubmitIdentity,
    file_sha256,
    job_for_submit,
    request_fingerprint,
    same_request_check,
)
from apps.media.sources import render_output_source
from apps.media.stems import separation_stems
from apps.media.timeline import TimeRange
from apps.separation.selectors import live_mix_of
from apps.separation.trim import source_probe, trim_bounds_check, trim_fit_to_duration

STAGE_PREPARE = "prepare"
STAGE_MIX = "mix"

SOURCE_UPLOAD = "upload"
SOURCE_RENDER = "render"
UPLOAD_STAGING_PREFIX = "uploads/separation/"

# A ready job is handed out again only with at least this much retention left (the phone keeps stems days).
MIN_REMAINING_RETENTION = timedelta(days=1)

MIX_MAX_VOLUME = 2.0


@dataclass(frozen=True)
class SeparationSpec:
    media_type: str
    number_of_speakers: int | None
    source_language_code: str
    trim_start_ms: int | None
    trim_end_ms: int | None
    edited_render_job_id: str | None


@dataclass(frozen=True)
class StemVolume:
    stem_id: str
    volume: float


# --- Submit ---------------------------------------------------------------------------------------


def separation_request_fingerprint(*, source_fingerprint: str, spec: SeparationSpec, window: TimeRange | None) -> str:
    """Same source + same window + same spec → same fingerprint (and so the same key for the same owner)."""
    trim = f"{window.start_ms}-{window.end_ms}" if window else "full"
    material = "|".join(
        [
            source_fingerprint,
            f"trim={trim}",
            f"spk={spec.number_of_speakers or 'auto'}",
            f"lang={spec.source_language_code}",
            f"type={spec.media_type}",
        ]
    )
    return "spec:" + hashlib.sha256(material.encode()).hexdigest()


def _separation_reusable(job: Job) -> bool:
    """Whether a live separation may answer a submit again: not once a mix consumed its stems (a new
    separation is a new request), nor with less than a day of retention left."""
    if job.status == JobStatus.SUCCEEDED and live_mix_of(separation_job=job) is not None:
        return False
    return not (job.expires_at and job.expires_at < timezone.now() + MIN_REMAINING_RETENTION)


def separation_submit(
    *,
    owner,
    spec: SeparationSpec,
    upload_path: Path | None,
    idempotency_header: str | None = None,
) -> tuple[Job, bool]:
    """Validates the source and the trim window in the request (fast ffprobe), then creates the job
    or returns the live job of the same request. Returns (job, created)."""
    window = trim_bounds_check(trim_start_ms=spec.trim_start_ms, trim_end_ms=spec.trim_end_ms)
    if spec.edited_render_job_id:
        source, fingerprint, duration_ms = _render_source(owner=owner, render_job_id=spec.edited_render_job_id)
    elif upload_path is not None:
        duration_ms = source_probe(path=upload_path).duration_ms
        source, fingerprint = {"kind": SOURCE_UPLOAD}, "sha256:" + file_sha256(upload_path)
    else:
        raise BadRequest(ErrorCode.SOURCE_REQUIRED, "either file part or editedRenderJobId is required")
    window = trim_fit_to_duration(window=window, duration_ms=duration_ms)

    request_print = separation_request_fingerprint(source_fingerprint=fingerprint, spec=spec, window=window)
    identity = SubmitIdentity(kind=JobKind.SEPARATION, fingerprint=request_print, header=idempotency_header)
    existing, key = job_for_submit(
        owner=owner, identity=identity, reusable=_separation_reusable, replayable=_separation_reusable
    )
    if existing is not None:
        return existing, False

    staging_key = None
    if source["kind"] == SOURCE_UPLOAD:
        # Stored before the job exists, so no transaction is held open across the copy.
        # Dated, so a sweep can drop what a crash between this save and the job row left behind.
        staging_folder = f"{UPLOAD_STAGING_PREFIX}{timezone.now():%Y-%m-%d}/{uuid.uuid4().hex}"
        staging_key = storage_save_file(key=f"{staging_folder}/source", local_path=upload_path)
        source = {**source, "storageKey": staging_key}
    job_spec = {
        "mediaType": spec.media_type,
        "numberOfSpeakers": spec.number_of_speakers,
        "sourceLanguageCode": spec.source_language_code,
        "trimStartMs": window.start_ms if window else None,
        "trimEndMs": window.end_ms if window else None,
        "editedRenderJobId": spec.edited_render_job_id,
        "source": {**source, "durationMs": duration_ms},
        SPEC_REQUEST_FINGERPRINT: request_print,
    }
    try:
        job, created = job_create(
            kind=JobKind.SEPARATION,
            owner=owner,
            spec=job_spec,
            first_stage=STAGE_PREPARE,
            idempotency_key=key,
            expires_at=timezone.now() + timedelta(seconds=settings.SEPARATION_RETENTION_SEC),
            progress_reason="Queued",
        )
    except Exception:
        if staging_key:
            default_storage.delete(staging_key)
        raise
    if not created and staging_key:
        default_storage.delete(staging_key)  # a concurrent double tap won the race
    if not created:
        same_request_check(job, identity)
    return job, created


def _render_source(*, owner, render_job_id: str) -> tuple[dict, str, int]:
    try:
        output = render_output_source(owner=owner, render_job_id=render_job_id)
    except NotFound as exc:
        raise BadRequest(ErrorCode.EDITED_RENDER_NOT_READY, exc.detail) from exc
    duration_ms = output.duration_ms
    if duration_ms <= 0:
        with local_copy(output.storage_key) as path:
            duration_ms = source_probe(path=path).duration_ms
    source = {"kind": SOURCE_RENDER, "storageKey": output.storage_key, "renderJobId": render_job_id}
    return source, f"render:{render_job_id}", duration_ms


# --- Mix reservation -----------------------------------------------------------------------------------


def stem_volumes_validate(*, separation_job: Job, stems: list[StemVolume]) -> list[StemVolume]:
    if not stems:
        raise BadRequest(ErrorCode.NO_STEMS, "Choose at least one stem to mix")
    known = {stem.stem_id for stem in separation_stems(job=separation_job)}
    seen: set[str] = set()
    for stem in stems:
        if stem.stem_id not in known:
            raise BadRequest(ErrorCode.UNKNOWN_STEM, f"Unknown stemId: {stem.stem_id}")
        if stem.stem_id in seen:
            raise BadRequest(ErrorCode.DUPLICATE_STEM, f"stemId listed twice: {stem.stem_id}")
        seen.add(stem.stem_id)
        if not isinstance(stem.volume, int | float) or not math.isfinite(stem.volume):
            raise BadRequest(ErrorCode.INVALID_VOLUME, f"volume of {stem.stem_id} must be a finite number")
        if not 0 <= stem.volume <= MIX_MAX_VOLUME:
            raise BadRequest(ErrorCode.INVALID_VOLUME, f"volume of {stem.stem_id} must be within 0..{MIX_MAX_VOLUME:g}")
    return stems


def _mix_fingerprint(stems: list[StemVolume]) -> str:
    return request_fingerprint(stems=sorted((stem.stem_id, round(stem.volume, 4)) for stem in stems))


def stem_mix_submit(
    *, separation_job: Job, stems: list[StemVolume], idempotency_header: str | None = None
) -> tuple[Job, bool]:
    """Reserves the separation for one mix (atomically: the separation row is locked while the live
    mixes are counted) and queues the mix on a render worker. A second mix while one runs or after one
    succeeded → 409; a failed mix no longer holds the reservation."""
    owner = separation_job.owner
    key = ""
    if idempotency_header:
        # Scoped to the separation: the same header on another separation is another request.
        identity = SubmitIdentity(
            kind=JobKind.MIX,
            fingerprint=_mix_fingerprint(stems),
            header=f"{separation_job.public_id}:{idempotency_header}",
        )
        existing, key = job_for_submit(owner=owner, identity=identity)
        if existing is not None:
            return existing, False
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=separation_job.pk)
        holder = live_mix_of(separation_job=locked)
        if holder is not None:
            raise Conflict(
                ErrorCode.SEPARATION_ALREADY_MIXED,
                f"This separation was already mixed or is being mixed ({holder.public_id}); its stems are consumed",
            )
        if locked.status != JobStatus.SUCCEEDED or not separation_stems(job=locked):
            raise Conflict(ErrorCode.SEPARATION_NOT_READY, "Separation job not ready: it has no stems to mix yet")
        stem_volumes_validate(separation_job=locked, stems=stems)
        expires_at = (locked.expires_at or timezone.now()) + timedelta(days=1)
        return job_create(
            kind=JobKind.MIX,
            owner=owner,
            spec={
                "separationJobId": locked.public_id,
                "stems": [{"stemId": s.stem_id, "volume": s.volume} for s in stems],
                SPEC_REQUEST_FINGERPRINT: _mix_fingerprint(stems),
            },
            first_stage=STAGE_MIX,
            source_job=locked,
            idempotency_key=key,
            expires_at=expires_at,
            progress_reason="Queued",
        )
