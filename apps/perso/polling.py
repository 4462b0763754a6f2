"""The beat-driven poller of jobs waiting on Perso: no worker sleeps while Perso works.

Each tick claims the due WAITING jobs (row locks with SKIP LOCKED, pushed forward before the locks
are released, so two pollers never take the same job), polls each once, and writes the next poll
time back on the row. Everything the poller needs is on the row, so a restarted poller resumes.
A poll that ends a project frees one of our in-flight slots: the oldest queued job is made due at
once and taken in the same tick, instead of waiting out its queue backoff.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.errors import JobFailure, TransientFailure
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import (
    JobLost,
    job_advance,
    job_fail,
    job_schedule_poll,
    job_update_upstream,
    jobs_due_for_poll_claim,
)
from apps.observability.context import job_log_context
from apps.perso.client import PersoProgress
from apps.perso.errors import PersoError, PersoRateLimited
from apps.perso.progress import perso_progress_to_job_progress, perso_projects_progress
from apps.perso.submits import STATE_DONE, STATE_QUEUED, STATE_SUBMITTING, perso_adopt_or_resubmit, perso_try_submit

logger = logging.getLogger(__name__)

POLL_BACKOFF_FACTOR = 1.5


def poll_due_jobs(*, limit: int = 50) -> int:
    """Polls every due job once; returns how many Perso jobs it handled."""
    handled = 0
    while True:
        freed_slots = 0
        due = jobs_due_for_poll_claim(limit=limit)
        for job in due:
            if job.upstream.get("provider") != "perso":
                logger.warning("job %s waits on an upstream the Perso poller does not handle", job.public_id)
                continue
            with job_log_context(job):
                try:
                    freed_slots += perso_poll_job(job=job)
                except JobLost:
                    logger.info("job %s moved on while being polled", job.public_id)
                except Exception:
                    # One job's surprise must not stop the tick; it is polled again after the claim lease.
                    logger.exception("polling job %s failed unexpectedly", job.public_id)
            handled += 1
        if len(due) < limit and not (freed_slots and perso_queued_jobs_wake(count=freed_slots)):
            return handled


def perso_queued_jobs_wake(*, count: int) -> int:
    """Makes the `count` oldest queued jobs due now (their submit is tried on the next claim)."""
    now = timezone.now()
    oldest = (
        Job.objects.filter(status=JobStatus.WAITING, upstream__persoState=STATE_QUEUED, next_poll_at__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:count]
    )
    return Job.objects.filter(pk__in=list(oldest), status=JobStatus.WAITING).update(next_poll_at=now)


def perso_next_poll_at() -> datetime | None:
    """When the soonest waiting job is due (None: none waits)."""
    return (
        Job.objects.filter(status=JobStatus.WAITING, next_poll_at__isnull=False)
        .order_by("next_poll_at")
        .values_list("next_poll_at", flat=True)
        .first()
    )


def next_poll_delay_sec(*, unchanged_polls: int) -> float:
    """5 s (never sooner: Perso rate-limits faster polling), growing while nothing moves, capped."""
    first = float(settings.PERSO_POLL_FIRST_DELAY_SEC)
    delay = first * POLL_BACKOFF_FACTOR ** max(0, unchanged_polls)
    return max(first, min(float(settings.PERSO_POLL_MAX_INTERVAL_SEC), delay))


def poll_error_backoff_sec(*, errors: int) -> float:
    """After a failed poll (5xx, network, 429 without Retry-After): doubling from the floor, capped."""
    floor = float(settings.PERSO_POLL_MIN_INTERVAL_SEC)
    cap = max(floor, float(settings.PERSO_POLL_ERROR_MAX_INTERVAL_SEC))
    return min(cap, floor * 2 ** max(0, errors - 1))


def _schedule_after_error(job: Job, *, errors: int, delay_sec: float) -> None:
    with transaction.atomic():
        job_update_upstream(job=job, upstream={"persoPollErrors": errors})
        job_schedule_poll(job=job, next_poll_at=timezone.now() + timedelta(seconds=delay_sec))


def perso_poll_job(*, job: Job) -> bool:
    """One poll of one waiting job: resubmit if queued, else read progress and move the job on.
    True when the job's projects stopped holding an in-flight slot (completed, failed, timed out)."""
    now = timezone.now()
    upstream = job.upstream
    if job.poll_deadline_at and now >= job.poll_deadline_at:
        minutes = max(1, round((job.poll_deadline_at - job.created_at).total_seconds() / 60))
        _fail(job, "perso_timeout", f"Perso did not finish within {minutes} minutes", abandoned=True)
        return True
    state = upstream.get("persoState")
    if state == STATE_QUEUED:
        _resubmit(job)
        return False
    if state == STATE_SUBMITTING:
        # A worker died in the middle of a submit: adopt the project it may have made, else resubmit.
        _resubmit(job, interrupted=True)
        return False
    project_seqs = upstream.get("persoProjectSeqs") or [upstream.get("persoProjectSeq")]
    if not project_seqs or project_seqs[0] is None:
        _fail(job, "perso_state_lost", "The Perso project of this job is unknown")
        return True
    # The documented floor, across workers: never poll sooner than PERSO_POLL_MIN_INTERVAL_SEC after
    # the last poll of this job's projects (recorded on the row before each poll).
    floor = timedelta(seconds=settings.PERSO_POLL_MIN_INTERVAL_SEC)
    last_poll_at = upstream.get("persoLastPollAt")
    if last_poll_at and now < datetime.fromisoformat(last_poll_at) + floor:
        job_schedule_poll(job=job, next_poll_at=datetime.fromisoformat(last_poll_at) + floor)
        return False
    try:
        answer = _projects_progress(job, project_seqs)
    except PersoRateLimited as exc:
        errors = int(upstream.get("persoPollErrors", 0)) + 1
        # Perso says when to come back: that (never sooner than the floor), not a growing backoff, so a
        # job polled into a passing burst is not pushed minutes away. Without Retry-After: backoff.
        if exc.retry_after_sec:
            delay = max(float(exc.retry_after_sec), float(settings.PERSO_POLL_MIN_INTERVAL_SEC))
        else:
            delay = poll_error_backoff_sec(errors=errors)
        logger.warning("poll of job %s rate-limited; next poll in %.0fs", job.public_id, delay)
        _schedule_after_error(job, errors=errors, delay_sec=delay)
        return False
    except PersoError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            upstream_code = exc.code or str(exc.status)
            _fail(job, f"perso_{upstream_code}"[:64], f"Perso refused the poll: {exc.status} {upstream_code}")
            return True
        errors = int(upstream.get("persoPollErrors", 0)) + 1
        delay = poll_error_backoff_sec(errors=errors)
        logger.warning("poll of job %s failed (%s); next poll in %.0fs", job.public_id, exc, delay)
        _schedule_after_error(job, errors=errors, delay_sec=delay)
        return False
    chaos_point("perso_poll")
    span = upstream.get("progressSpan") or [10, 80]
    if answer.is_failed:
        reason = answer.progress_reason if answer.progress_reason not in ("", "Failed") else "Failed"
        _fail(job, "perso_failed", f"Perso reported failure: {reason}")
        return True
    if answer.is_completed:
        with transaction.atomic():
            job_update_upstream(
                job=job,
                upstream={
                    "persoState": STATE_DONE,
                    "persoPolls": int(upstream.get("persoPolls", 0)) + 1,
                    "persoCompletedAt": now.isoformat(),
                },
            )
            job_advance(job=job, stage=upstream["onCompleteStage"], progress=int(span[1]), progress_reason="Finalizing")
        return True
    last_progress = upstream.get("persoLastProgress")
    moved = last_progress is None or answer.progress != last_progress
    unchanged = 0 if moved else int(upstream.get("persoUnchangedPolls", 0)) + 1
    _schedule(
        job,
        unchanged_polls=unchanged,
        last_progress=answer.progress,
        progress=perso_progress_to_job_progress(perso_progress=answer.progress, progress_span=span),
        progress_reason=answer.progress_reason or None,
    )
    return False


def _projects_progress(job: Job, project_seqs: list[Any]) -> PersoProgress:
    """Perso's progress of the job's projects. The floor counts from the last poll's answer: recorded
    before the call (a worker that dies mid-poll still holds the floor) and again when it returns, so a
    poll that reached Perso late never lets the next one arrive sooner than the floor after it."""
    job_update_upstream(job=job, upstream={"persoLastPollAt": timezone.now().isoformat()})
    try:
        return perso_projects_progress(project_seqs=[int(seq) for seq in project_seqs])
    finally:
        job_update_upstream(job=job, upstream={"persoLastPollAt": timezone.now().isoformat()})


def _schedule(
    job: Job,
    *,
    unchanged_polls: int,
    last_progress: int | None,
    progress: int | None = None,
    progress_reason: str | None = None,
) -> None:
    updates = {
        "persoPolls": int(job.upstream.get("persoPolls", 0)) + 1,
        "persoUnchangedPolls": unchanged_polls,
        "persoPollErrors": 0,
    }
    if last_progress is not None:
        updates["persoLastProgress"] = last_progress
    with transaction.atomic():
        job_update_upstream(job=job, upstream=updates)
        job_schedule_poll(
            job=job,
            next_poll_at=timezone.now() + timedelta(seconds=next_poll_delay_sec(unchanged_polls=unchanged_polls)),
            progress=progress,
            progress_reason=progress_reason,
        )


def _resubmit(job: Job, *, interrupted: bool = False) -> None:
    try:
        if interrupted:
            perso_adopt_or_resubmit(job=job)
        else:
            perso_try_submit(job=job)
    except JobFailure as exc:
        _fail(job, exc.code, exc.detail)
    except TransientFailure as exc:
        logger.warning("resubmit of job %s failed, trying later: %s", job.public_id, exc)
        attempts = int(job.upstream.get("persoSubmitAttempts", 0)) + 1
        job_update_upstream(job=job, upstream={"persoState": STATE_QUEUED, "persoSubmitAttempts": attempts})
        job_schedule_poll(
            job=job, next_poll_at=timezone.now() + timedelta(seconds=next_poll_delay_sec(unchanged_polls=attempts))
        )


def _fail(job: Job, code: str, detail: str, *, abandoned: bool = False) -> None:
    """Ends the job. `abandoned`: Perso may still be working on it, so the cleanup deletes the project."""
    with transaction.atomic():
        job_update_upstream(job=job, upstream={"persoState": STATE_DONE, "persoAbandoned": abandoned})
        job_fail(job=job, code=code, detail=detail)
