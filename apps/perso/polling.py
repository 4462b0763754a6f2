"""The beat-driven poller of jobs waiting on Perso: no worker sleeps while Perso works.

Each tick claims the due WAITING jobs (row locks with SKIP LOCKED, pushed forward before the locks
are released, so two pollers never take the same job), polls each once, and writes the next poll
time back on the row. Everything the poller needs is on the row, so a restarted poller resumes.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.errors import JobFailure, TransientFailure
from apps.jobs.context import current_job_id
from apps.jobs.models import Job
from apps.jobs.services import (
    JobLost,
    job_advance,
    job_fail,
    job_schedule_poll,
    job_update_upstream,
    jobs_due_for_poll_claim,
)
from apps.perso.errors import PersoAuthError, PersoError, PersoNotFound
from apps.perso.services import (
    STATE_DONE,
    STATE_QUEUED,
    STATE_SUBMITTING,
    perso_progress_to_job_progress,
    perso_projects_progress,
    perso_try_submit,
)

logger = logging.getLogger(__name__)

POLL_BACKOFF_FACTOR = 1.5


def poll_due_jobs(*, limit: int = 50) -> int:
    """Polls every due job once; returns how many Perso jobs it handled."""
    handled = 0
    for job in jobs_due_for_poll_claim(limit=limit):
        if job.upstream.get("provider") != "perso":
            logger.warning("job %s waits on an upstream the Perso poller does not handle", job.public_id)
            continue
        token = current_job_id.set(job.pk)
        try:
            perso_poll_job(job=job)
        except JobLost:
            logger.info("job %s moved on while being polled", job.public_id)
        except Exception:
            # One job's surprise must not stop the tick; it is polled again after the claim lease.
            logger.exception("polling job %s failed unexpectedly", job.public_id)
        finally:
            current_job_id.reset(token)
        handled += 1
    return handled


def next_poll_delay_sec(*, unchanged_polls: int) -> float:
    """5 s (never sooner: Perso rate-limits faster polling), growing while nothing moves, capped."""
    first = float(settings.PERSO_POLL_FIRST_DELAY_SEC)
    delay = first * POLL_BACKOFF_FACTOR ** max(0, unchanged_polls)
    return max(first, min(float(settings.PERSO_POLL_MAX_INTERVAL_SEC), delay))


def perso_poll_job(*, job: Job) -> None:
    """One poll of one waiting job: resubmit if queued, else read progress and move the job on."""
    now = timezone.now()
    upstream = job.upstream
    if job.poll_deadline_at and now >= job.poll_deadline_at:
        minutes = max(1, round((job.poll_deadline_at - job.created_at).total_seconds() / 60))
        _fail(job, "perso_timeout", f"Perso did not finish within {minutes} minutes")
        return
    state = upstream.get("persoState")
    if state == STATE_QUEUED:
        _resubmit(job)
        return
    if state == STATE_SUBMITTING:
        # A poller died in the middle of a submit: the project may exist, so it is not sent again.
        _fail(job, "perso_submit_uncertain", "The request to Perso was interrupted; it was not sent again")
        return
    project_seqs = upstream.get("persoProjectSeqs") or [upstream.get("persoProjectSeq")]
    if not project_seqs or project_seqs[0] is None:
        _fail(job, "perso_state_lost", "The Perso project of this job is unknown")
        return
    try:
        answer = perso_projects_progress(project_seqs=[int(seq) for seq in project_seqs])
    except (PersoNotFound, PersoAuthError) as exc:
        code = "perso_auth_failed" if isinstance(exc, PersoAuthError) else "perso_project_lost"
        _fail(
            job, code, "Authentication failed with Perso" if code == "perso_auth_failed" else "Perso lost the project"
        )
        return
    except PersoError as exc:
        logger.warning("poll of job %s failed, trying later: %s", job.public_id, exc)
        _schedule(job, unchanged_polls=int(upstream.get("persoUnchangedPolls", 0)) + 1, last_progress=None)
        return
    chaos_point("perso_poll")
    span = upstream.get("progressSpan") or [10, 80]
    if answer.is_failed:
        reason = answer.progress_reason if answer.progress_reason not in ("", "Failed") else "Failed"
        _fail(job, "perso_failed", f"Perso reported failure: {reason}")
        return
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
        return
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


def _schedule(
    job: Job,
    *,
    unchanged_polls: int,
    last_progress: int | None,
    progress: int | None = None,
    progress_reason: str | None = None,
) -> None:
    updates = {"persoPolls": int(job.upstream.get("persoPolls", 0)) + 1, "persoUnchangedPolls": unchanged_polls}
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


def _resubmit(job: Job) -> None:
    try:
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


def _fail(job: Job, code: str, detail: str) -> None:
    with transaction.atomic():
        job_update_upstream(job=job, upstream={"persoState": STATE_DONE})
        job_fail(job=job, code=code, detail=detail)
