"""One submit, one job: the dedupe rule every paid submit (subtitles, autodub, separation, mix) and
render follows.

A submit is identified by its request fingerprint — who, what source (the bytes' SHA-256 or the
render it names) and what spec. The same fingerprint while a job of it is still in progress gets
that job back (a double tap, a retry after a lost answer). With an `Idempotency-Key` header the key
identifies the request instead, for 24 h, whatever the job's state; the same key with a different
request is refused with 422 (the IETF idempotency-key draft). Concurrent submits race on the
job table's partial unique index (owner, kind, key while live), so exactly one row wins.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, BadRequest, Conflict
from apps.jobs.models import ACTIVE_STATUSES, Job
from apps.jobs.services import job_create, job_find_live_by_key

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # django-stubs' name for AUTH_USER_MODEL (no runtime name)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_HEADER_LENGTH = 255
IDEMPOTENCY_HEADER_WINDOW = timedelta(hours=24)
# The job spec key holding the fingerprint of the request that created the job.
SPEC_REQUEST_FINGERPRINT = "requestFingerprint"


class IdempotencyKeyReused(ApiError, status_code=422, code=ErrorCode.IDEMPOTENCY_KEY_REUSED): ...


def idempotency_header(request: HttpRequest) -> str | None:
    value = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
    if not value:
        return None
    if len(value) > MAX_IDEMPOTENCY_HEADER_LENGTH:
        raise BadRequest(ErrorCode.INVALID_IDEMPOTENCY_KEY, f"{IDEMPOTENCY_HEADER} is longer than 255 characters")
    return value


@dataclass(frozen=True)
class SubmitRequest:
    """What a submit request carries besides its spec: who sends it, the `file` part (None when the
    spec names a render instead) and the Idempotency-Key."""

    owner: "_User"
    upload: Any
    idempotency_header: str | None

    @classmethod
    def of(cls, request: Any) -> "SubmitRequest":
        """The caller, the `file` part and the checked Idempotency-Key of a DRF request."""
        return cls(owner=request.user, upload=request.FILES.get("file"), idempotency_header=idempotency_header(request))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def request_fingerprint(**parts: object) -> str:
    """A stable digest of what a submit asks for (JSON-able parts, key order irrelevant)."""
    material = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True)
class SubmitIdentity:
    kind: str
    fingerprint: str
    header: str | None

    @classmethod
    def of_request(cls, *, kind: str, header: str | None, **request_parts: object) -> "SubmitIdentity":
        """The identity of a submit of `kind` asking for `request_parts`, sent with `header`."""
        return cls(kind=kind, fingerprint=request_fingerprint(kind=kind, **request_parts), header=header)

    @property
    def base_key(self) -> str:
        if self.header:
            return "hdr:" + hashlib.sha256(self.header.encode()).hexdigest()
        return "req:" + self.fingerprint


def job_in_progress(job: Job) -> bool:
    return job.status in ACTIVE_STATUSES


def same_request_check(job: Job, identity: SubmitIdentity) -> None:
    """A job found by an Idempotency-Key answers only the request that created it."""
    recorded = (job.spec or {}).get(SPEC_REQUEST_FINGERPRINT)
    if identity.header and recorded and recorded != identity.fingerprint:
        raise IdempotencyKeyReused(
            detail=f"This {IDEMPOTENCY_HEADER} was already used for a different request ({job.public_id})"
        )


def job_for_submit(
    *,
    owner: "_User",
    identity: SubmitIdentity,
    reusable: Callable[[Job], bool] = job_in_progress,
    replayable: Callable[[Job], bool] = lambda job: True,
) -> tuple[Job | None, str]:
    """(the job of the identity's kind that answers this submit, or None; the key a new job must take).
    Without a header a live job of the same request answers while `reusable`; with one, the job of the same key answers
    for 24 h while `replayable`. A live job that may not answer again keeps its key under the unique
    index, so the next job chains after it."""
    base_key = identity.base_key
    key = base_key
    now = timezone.now()
    for _ in range(50):
        existing = job_find_live_by_key(owner=owner, kind=identity.kind, idempotency_key=key)
        if existing is None:
            return None, key
        if identity.header and existing.created_at >= now - IDEMPOTENCY_HEADER_WINDOW and replayable(existing):
            same_request_check(existing, identity)
            return existing, key
        if not identity.header and reusable(existing):
            return existing, key
        key = f"{base_key}|after:{existing.public_id}"[:255]
    raise Conflict(ErrorCode.IDEMPOTENCY_CHAIN_TOO_LONG, "Too many submits with the same idempotency key")


def job_submit(
    *,
    owner: "_User",
    identity: SubmitIdentity,
    spec: dict[str, Any],
    first_stage: str,
    expires_at: datetime,
    progress_reason: str = "Queued",
    attach: Callable[[Job], None] | None = None,
) -> Job:
    """The job (of the identity's kind) that answers a submit: the live job of the same request, else a new row carrying the
    request's fingerprint. `attach` stores what a new job needs under its own prefix (the upload, the
    inputs) inside the transaction that creates the row: a failed copy leaves no job, and the first
    stage is sent only after commit."""
    existing, key = job_for_submit(owner=owner, identity=identity)
    if existing is not None:
        return existing
    with transaction.atomic():
        job, created = job_create(
            kind=identity.kind,
            owner=owner,
            spec={**spec, SPEC_REQUEST_FINGERPRINT: identity.fingerprint},
            first_stage=first_stage,
            idempotency_key=key,
            expires_at=expires_at,
            progress_reason=progress_reason,
        )
        if not created:  # a concurrent submit of the same request won the race
            same_request_check(job, identity)
            return job
        if attach is not None:
            attach(job)
    return job
