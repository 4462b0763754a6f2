"""The only place that changes a job's state.

Every transition is a compare-and-swap UPDATE filtered on the status and dispatch number the
caller holds, so a duplicate delivery, a cancelled job or a job another worker took over is
left alone: the losing side gets `JobLost` and stops.
"""

import functools
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.core.error_codes import ErrorCode
from apps.core.errors import Conflict
from apps.core.storage import job_storage_prefix, storage_delete_prefix
from apps.jobs.models import (
    ACTIVE_STATUSES,
    ID_PREFIXES,
    TERMINAL_STATUSES,
    ExternalCall,
    Job,
    JobEvent,
    JobStatus,
)
from apps.jobs.stages import stage_task_name
from apps.observability.context import current_job_id, current_request_id, log_context_bind
from apps.observability.metrics import job_created_observe, job_finished_observe, upstream_call_observe
from vibi.celery import app

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # django-stubs' name for AUTH_USER_MODEL (no runtime name)

logger = logging.getLogger(__name__)

MAX_STAGE_ATTEMPTS = 5


class JobLost(Exception):
    """The job is no longer in the state the caller holds (cancelled, taken over, finished)."""


def new_public_id(kind: str) -> str:
    return f"{ID_PREFIXES[kind]}-{uuid.uuid4()}"


def job_event_add(*, job: Job, kind: str, message: str = "", stage: str | None = None, actor: str = "") -> None:
    JobEvent.objects.create(
        job=job, kind=kind, stage=job.stage if stage is None else stage, message=message[:4000], actor=actor[:150]
    )


def _send_stage_task(task_name: str, job_pk: int, dispatch_seq: int, countdown: float | None) -> None:
    _send_task_after_commit(task_name, job_pk, dispatch_seq, countdown=countdown)


def _send_task(task_name: str, *args: object) -> None:
    _send_task_after_commit(task_name, *args)


def _send_task_after_commit(task_name: str, *args: object, countdown: float | None = None) -> None:
    """Sends a task once the row it acts on is committed. The row is the source of truth and the
    message only a nudge: a broker that is down (restarting, failing over) is logged, not raised —
    the reconciler re-sends what a lost message should have started (JOB_REDISPATCH_AFTER_SEC), so
    neither the request nor the stage that committed the change fails for it."""
    try:
        app.send_task(task_name, args=list(args), countdown=countdown)
    except KombuOperationalError as exc:
        logger.warning("task %s %s not sent (broker unavailable), the reconciler re-sends it: %s", task_name, args, exc)


def _compare_and_swap(job: Job, *, expected_statuses: Iterable[str], **changes: Any) -> None:
    """UPDATE the row only if it still has the status and dispatch number `job` holds."""
    changes["updated_at"] = timezone.now()
    # "Progress" for the stuck check: a status change or a higher progress number (a poll is not progress).
    if ("status" in changes and changes["status"] != job.status) or changes.get(
        "progress", job.progress
    ) > job.progress:
        changes["progressed_at"] = changes["updated_at"]
    updated = Job.objects.filter(pk=job.pk, status__in=list(expected_statuses), dispatch_seq=job.dispatch_seq).update(
        **changes
    )
    if not updated:
        raise JobLost(job.public_id)
    for name, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(job, name, value)


def job_create(
    *,
    kind: str,
    owner: "_User",
    spec: dict[str, Any],
    first_stage: str | None,
    idempotency_key: str = "",
    source_job: Job | None = None,
    result: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    progress_reason: str = "",
) -> tuple[Job, bool]:
    """Creates the row and enqueues the first stage after commit. With an idempotency key, a live
    job of the same owner, kind and key is returned instead (created is then False)."""
    if idempotency_key:
        existing = job_find_live_by_key(owner=owner, kind=kind, idempotency_key=idempotency_key)
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                public_id=new_public_id(kind),
                kind=kind,
                owner=owner,
                spec=spec,
                result=result or {},
                idempotency_key=idempotency_key,
                source_job=source_job,
                expires_at=expires_at,
                progress_reason=progress_reason,
                request_id=current_request_id(),
                progressed_at=timezone.now(),
            )
            job_event_add(job=job, kind=JobEvent.Kind.CREATED, stage="")
            if first_stage:
                _dispatch(job, stage=first_stage)
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = job_find_live_by_key(owner=owner, kind=kind, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return existing, False
    job_created_observe(kind=kind)
    log_context_bind(job_id=job.public_id)
    return job, True


def job_find_live_by_key(*, owner: "_User", kind: str, idempotency_key: str) -> Job | None:
    return (
        Job.objects.filter(owner=owner, kind=kind, idempotency_key=idempotency_key)
        .exclude(status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
        .order_by("-created_at")
        .first()
    )


def _dispatch(job: Job, *, stage: str, countdown: float | None = None, event_kind: str = JobEvent.Kind.STAGE) -> None:
    """Moves the job to PENDING for `stage` and sends the stage's task once the transaction commits."""
    task_name = stage_task_name(kind=job.kind, stage=stage)
    now = timezone.now()
    # attempts count per stage
    stage_changes = {"attempts": 0, "stage_started_at": now} if stage != job.stage else {}
    Job.objects.filter(pk=job.pk).update(
        **stage_changes,
        stage=stage,
        status=JobStatus.PENDING,
        dispatch_seq=F("dispatch_seq") + 1,
        # When the message becomes deliverable: the reconciler must not take a retry that waits out
        # its backoff (countdown) for a message lost with the broker.
        dispatched_at=now + timedelta(seconds=countdown or 0),
        lease_expires_at=None,
        next_poll_at=None,
        updated_at=now,
        progressed_at=now,
    )
    job.refresh_from_db(
        fields=[
            "stage",
            "status",
            "attempts",
            "dispatch_seq",
            "dispatched_at",
            "lease_expires_at",
            "next_poll_at",
            "stage_started_at",
            "progressed_at",
        ]
    )
    job_event_add(job=job, kind=event_kind, message=f"queued {stage}" + (f" in {countdown:.0f}s" if countdown else ""))
    transaction.on_commit(functools.partial(_send_stage_task, task_name, job.pk, job.dispatch_seq, countdown))


def job_advance(*, job: Job, stage: str, progress: int | None = None, progress_reason: str | None = None) -> None:
    """The running stage hands the job to its next stage."""
    with transaction.atomic():
        changes: dict[str, Any] = {}
        if progress is not None:
            changes["progress"] = max(job.progress, min(100, progress))
        if progress_reason is not None:
            changes["progress_reason"] = progress_reason[:255]
        _compare_and_swap(job, expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING], **changes)
        _dispatch(job, stage=stage)


def job_claim(*, job_id: int, dispatch_seq: int) -> Job | None:
    """A worker takes the job for the stage it was sent. None when this delivery is stale or a
    duplicate (another worker holds a live lease, or the job moved on)."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.JOB_LEASE_SEC)
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, dispatch_seq=dispatch_seq).first()
        if job is None:
            return None
        lease_lost = job.status == JobStatus.PROCESSING and (job.lease_expires_at is None or job.lease_expires_at < now)
        if job.status != JobStatus.PENDING and not lease_lost:
            return None
        if lease_lost:
            job.dispatch_seq += 1  # fences off the worker whose lease expired (see jobs_reconcile)
        job.status = JobStatus.PROCESSING
        job.lease_expires_at = lease_until
        job.attempts += 1
        job.attempts_total += 1
        job.started_at = job.started_at or now
        job.stage_started_at = job.stage_started_at or now
        job.progressed_at = now
        job.save(
            update_fields=[
                "status",
                "dispatch_seq",
                "lease_expires_at",
                "attempts",
                "attempts_total",
                "started_at",
                "stage_started_at",
                "progressed_at",
                "updated_at",
            ]
        )
        job_event_add(job=job, kind=JobEvent.Kind.STAGE, message=f"started {job.stage} (attempt {job.attempts})")
    return job


def job_heartbeat(*, job: Job, progress: int | None = None, progress_reason: str | None = None) -> None:
    """Extends the running stage's lease and records progress; raises JobLost once cancelled."""
    changes: dict[str, Any] = {"lease_expires_at": timezone.now() + timedelta(seconds=settings.JOB_LEASE_SEC)}
    if progress is not None:
        changes["progress"] = max(job.progress, min(100, int(progress)))
    if progress_reason is not None:
        changes["progress_reason"] = progress_reason[:255]
    _compare_and_swap(job, expected_statuses=[JobStatus.PROCESSING], **changes)


def job_lease_renew(*, job_pk: int, dispatch_seq: int) -> bool:
    """The lease heartbeat of a running stage: pushes its lease forward while the row is still
    PROCESSING under the dispatch number the worker claimed. False once the job moved on (taken over,
    cancelled, finished): the renewer stops and the stage's next transition raises JobLost."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_pk, status=JobStatus.PROCESSING, dispatch_seq=dispatch_seq).update(
            lease_expires_at=now + timedelta(seconds=settings.JOB_LEASE_SEC), updated_at=now
        )
    )


def job_set_result(*, job: Job, result_updates: dict[str, Any]) -> None:
    """Merges keys into the job's result while the stage holds it (e.g. storage keys as they land)."""
    merged = {**job.result, **result_updates}
    _compare_and_swap(job, expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING], result=merged)


def job_wait_upstream(
    *,
    job: Job,
    upstream: dict[str, Any],
    next_poll_at: datetime,
    deadline_at: datetime | None = None,
    progress_reason: str = "",
) -> None:
    """The stage submitted work upstream: no worker waits, the beat poller takes it from here."""
    with transaction.atomic():
        changes: dict[str, Any] = {
            "status": JobStatus.WAITING,
            "upstream": {**job.upstream, **upstream},
            "next_poll_at": next_poll_at,
            "lease_expires_at": None,
        }
        if deadline_at is not None:
            changes["poll_deadline_at"] = deadline_at
        if progress_reason:
            changes["progress_reason"] = progress_reason[:255]
        _compare_and_swap(job, expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING], **changes)
        job_event_add(job=job, kind=JobEvent.Kind.WAITING, message=f"waiting upstream {upstream}")


def job_update_upstream(*, job: Job, upstream: dict[str, Any]) -> None:
    """Records upstream references at once (e.g. a project seq right after submit), before anything slow."""
    _compare_and_swap(
        job, expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING], upstream={**job.upstream, **upstream}
    )


def jobs_due_for_poll_claim(*, limit: int = 50, now: datetime | None = None) -> list[Job]:
    """Claims WAITING jobs whose poll is due: several pollers never get the same job in one tick,
    because the rows are locked with SKIP LOCKED and pushed forward before the lock is released."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.WAITING, next_poll_at__lte=now)
            .order_by("next_poll_at")[:limit]
        )
        if due:
            Job.objects.filter(pk__in=[job.pk for job in due]).update(
                next_poll_at=now + timedelta(seconds=settings.JOB_LEASE_SEC), updated_at=now
            )
    return due


def job_schedule_poll(
    *, job: Job, next_poll_at: datetime, progress: int | None = None, progress_reason: str | None = None
) -> None:
    changes: dict[str, Any] = {"next_poll_at": next_poll_at}
    if progress is not None:
        changes["progress"] = max(job.progress, min(100, int(progress)))
    if progress_reason is not None:
        changes["progress_reason"] = progress_reason[:255]
    _compare_and_swap(job, expected_statuses=[JobStatus.WAITING], **changes)


def job_succeed(*, job: Job, result_updates: dict[str, Any] | None = None, progress_reason: str = "Completed") -> None:
    with transaction.atomic():
        _compare_and_swap(
            job,
            expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING],
            status=JobStatus.SUCCEEDED,
            progress=100,
            progress_reason=progress_reason,
            result={**job.result, **(result_updates or {})},
            finished_at=timezone.now(),
            lease_expires_at=None,
            next_poll_at=None,
            error_code="",
            error_detail="",
            failed_stage="",
        )
        job_event_add(job=job, kind=JobEvent.Kind.SUCCEEDED)
    job_finished_observe(kind=job.kind, status=JobStatus.SUCCEEDED)


def job_fail(*, job: Job, code: str, detail: str = "") -> None:
    """Ends the job FAILED; the readable reason goes to progress_reason too (the phone shows it)."""
    with transaction.atomic():
        _compare_and_swap(
            job,
            expected_statuses=ACTIVE_STATUSES,
            status=JobStatus.FAILED,
            error_code=code[:64],
            error_detail=detail,
            progress_reason=(detail or code)[:255],
            failed_stage=job.stage,
            finished_at=timezone.now(),
            lease_expires_at=None,
            next_poll_at=None,
        )
        job_event_add(job=job, kind=JobEvent.Kind.FAILED, message=f"{code}: {detail}" if detail else code)
    job_finished_observe(kind=job.kind, status=JobStatus.FAILED)
    logger.warning("job %s failed at %s: %s %s", job.public_id, job.stage, code, detail)


def job_retry_stage_later(*, job: Job, code: str, detail: str, retry_after_sec: float | None = None) -> bool:
    """A transient failure: queue the same stage again with backoff. False once attempts run out."""
    if job.attempts >= MAX_STAGE_ATTEMPTS:
        return False
    countdown = retry_after_sec if retry_after_sec is not None else min(300.0, 5.0 * 2 ** (job.attempts - 1))
    with transaction.atomic():
        _compare_and_swap(job, expected_statuses=[JobStatus.PROCESSING, JobStatus.WAITING])
        _dispatch(job, stage=job.stage, countdown=countdown, event_kind=JobEvent.Kind.RETRY)
        job_event_add(job=job, kind=JobEvent.Kind.ERROR, message=f"{code}: {detail}")
    return True


def job_cancel(*, job: Job, actor: str = "") -> None:
    """Cancels a job in flight; a running stage notices at its next heartbeat and stops. `actor`:
    the staff user who asked (recorded on the timeline)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status in TERMINAL_STATUSES:
            raise Conflict(ErrorCode.JOB_NOT_ACTIVE, f"Job is already {job.status}")
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.CANCELLED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            next_poll_at=None,
            progress_reason="Cancelled",
            dispatch_seq=F("dispatch_seq") + 1,
            updated_at=timezone.now(),
            progressed_at=timezone.now(),
        )
        job_event_add(
            job=job, kind=JobEvent.Kind.CANCELLED, message=f"cancelled by {actor}" if actor else "", actor=actor
        )
        if job.upstream.get("persoProjectSeqs"):
            # Cancel means cancel upstream too: the Perso project is deleted (the reconciler retries).
            transaction.on_commit(functools.partial(_send_task, "workers.perso.delete_job_projects_task", job.pk))
    job_finished_observe(kind=job.kind, status=JobStatus.CANCELLED)


def job_retry(*, job: Job, actor: str = "") -> None:
    """Ops retry: runs a failed or cancelled job again from the stage where it stopped. The stage's
    attempt counter starts again (its retry budget), `attempts_total` keeps counting, and `actor`
    (the staff user) is recorded on the timeline."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise Conflict(
                ErrorCode.JOB_NOT_RETRYABLE, f"Only failed or cancelled jobs can be retried (this one is {job.status})"
            )
        stage = job.failed_stage or job.stage
        Job.objects.filter(pk=job.pk).update(
            error_code="",
            error_detail="",
            failed_stage="",
            finished_at=None,
            attempts=0,
            stage_started_at=timezone.now(),
            progress_reason="Retrying",
        )
        job.refresh_from_db()
        by = f" by {actor}" if actor else ""
        job_event_add(job=job, kind=JobEvent.Kind.RETRY, message=f"retry from {stage} requested{by}", actor=actor)
        _dispatch(job, stage=stage)


def _lost_message_backoff(job: Job) -> timedelta:
    """A queued message may only be waiting behind a long queue: each re-send of a stage's message
    waits twice as long as the one before (JOB_REDISPATCH_AFTER_SEC × 1, 2, 4, …, at most a day), so
    a backlog is not flooded with duplicates (each a no-op, but each queueing)."""
    resent = JobEvent.objects.filter(
        job=job, kind=JobEvent.Kind.REDISPATCH, stage=job.stage, message__endswith="queued message lost"
    ).count()
    extra = settings.JOB_REDISPATCH_AFTER_SEC * (2 ** min(resent, 16) - 1)
    return timedelta(seconds=min(extra, 86400))


def jobs_reconcile(*, now: datetime | None = None) -> int:
    """Finds jobs whose task was lost (a dead worker's expired lease, a queued message gone with a
    broker restart) and sends their stage again. A lost queued message keeps its dispatch number,
    so if the old message does turn up, only one of the two deliveries runs the stage. An expired
    lease gets a new dispatch number: its worker may still be alive (stalled, cut off from the
    database), and its next heartbeat or transition must fail (JobLost) rather than two workers
    running the stage side by side."""
    now = now or timezone.now()
    redispatch_before = now - timedelta(seconds=settings.JOB_REDISPATCH_AFTER_SEC)
    count = 0
    lost_pending = Job.objects.filter(status=JobStatus.PENDING, dispatched_at__lt=redispatch_before)
    lost_running = Job.objects.filter(status=JobStatus.PROCESSING, lease_expires_at__lt=now)
    for job in list(lost_pending[:200]) + list(lost_running[:200]):
        lease_expired = job.status == JobStatus.PROCESSING
        next_check = now if lease_expired else now + _lost_message_backoff(job)
        with transaction.atomic():
            updated = Job.objects.filter(pk=job.pk, status=job.status, dispatch_seq=job.dispatch_seq).update(
                status=JobStatus.PENDING,
                dispatched_at=next_check,
                lease_expires_at=None,
                updated_at=now,
                **({"dispatch_seq": F("dispatch_seq") + 1} if lease_expired else {}),
            )
            if not updated:
                continue
            reason = "lease expired (worker lost)" if lease_expired else "queued message lost"
            job_event_add(job=job, kind=JobEvent.Kind.REDISPATCH, message=f"re-sent {job.stage}: {reason}")
            task_name = stage_task_name(kind=job.kind, stage=job.stage)
            dispatch_seq = job.dispatch_seq + 1 if lease_expired else job.dispatch_seq
            transaction.on_commit(functools.partial(_send_stage_task, task_name, job.pk, dispatch_seq, None))
        count += 1
    return count


def external_call_record(
    *,
    service: str,
    method: str,
    endpoint: str,
    status_code: int | None,
    latency_ms: int,
    error_code: str = "",
    attempt: int = 1,
    job_id: int | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> None:
    """Logs one upstream call; linked to the job the current task works on unless told otherwise."""
    upstream_call_observe(service=service, endpoint=endpoint, status_code=status_code, latency_ms=latency_ms)
    logger.info(
        "upstream %s %s %s -> %s in %dms%s",
        service,
        method.upper(),
        endpoint.split("?", 1)[0],
        status_code if status_code is not None else "no answer",
        latency_ms,
        f" ({error_code})" if error_code else "",
    )
    ExternalCall.objects.create(
        job_id=job_id if job_id is not None else current_job_id.get(),
        service=service,
        method=method.upper()[:10],
        endpoint=endpoint[:500],
        status_code=status_code,
        latency_ms=max(0, int(latency_ms)),
        error_code=error_code[:64],
        attempt=attempt,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def job_touch_expiry(*, job: Job, ttl_sec: int) -> None:
    """Sliding retention (render outputs reused as sources): push expiry to now + ttl."""
    new_expiry = timezone.now() + timedelta(seconds=ttl_sec)
    Job.objects.filter(pk=job.pk).update(expires_at=new_expiry)
    job.expires_at = new_expiry


def jobs_expired_delete(*, now: datetime | None = None, limit: int = 500) -> int:
    """Deletes terminal jobs past their expiry together with their stored files."""
    now = now or timezone.now()
    deleted = 0
    for job in Job.objects.filter(status__in=TERMINAL_STATUSES, expires_at__lt=now)[:limit]:
        storage_delete_prefix(job_storage_prefix(job.public_id))
        job.delete()
        deleted += 1
    return deleted
