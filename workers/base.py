"""The one wrapper every job-stage task goes through.

A stage task receives `(job_pk, dispatch_seq)`, claims the job (a stale or duplicate delivery
does nothing), binds the job to the logs and the upstream call log, calls one service, and turns
the service's exceptions into job transitions: `TransientFailure` → the stage again with
backoff, `JobFailure`/`ApiError` → FAILED with its code, anything else → FAILED `internal_error`.
"""

import functools
import logging
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from apps.core.errors import ApiError, JobFailure, TransientFailure
from apps.jobs.models import Job, JobStatus
from apps.observability.context import job_log_context, log_context_bind
from apps.observability.metrics import stage_run_observe

logger = logging.getLogger("workers")


def job_stage_task(*, soft_time_limit: int = 900, time_limit: int | None = None):
    """Declares a stage task: `fn(job)` calls the stage's service with a claimed job."""

    def decorator(fn):
        @shared_task(
            name=f"{fn.__module__}.{fn.__name__}",
            acks_late=True,
            reject_on_worker_lost=True,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit or soft_time_limit + 60,
            ignore_result=True,
        )
        @functools.wraps(fn)
        def task(job_pk: int, dispatch_seq: int) -> None:
            from apps.jobs.services import job_claim

            job = job_claim(job_id=job_pk, dispatch_seq=dispatch_seq)
            if job is None:
                logger.info(
                    "stage task %s: job %s dispatch %s is stale or taken, skipped", fn.__name__, job_pk, dispatch_seq
                )
                return
            with job_log_context(job):
                log_context_bind(attempt=job.attempts)
                _run_stage(fn, job, soft_time_limit)
                _check_stage_handed_on(job, fn.__name__)

        return task

    return decorator


def _run_stage(fn, job: Job, soft_time_limit: int) -> None:
    from apps.jobs.services import JobLost

    kind, stage = job.kind, job.stage
    started = time.monotonic()
    log_fields = f"job={job.public_id} stage={job.stage} attempt={job.attempts} task={fn.__name__}"
    logger.info("stage start %s", log_fields)
    outcome = "handed_on"
    try:
        fn(job)
    except JobLost:
        outcome = "lost"
        logger.info("stage stopped, job moved on (cancelled or taken over) %s", log_fields)
    except TransientFailure as exc:
        outcome = "transient_failure"
        _handle_transient(job, exc, log_fields)
    except (JobFailure, ApiError) as exc:
        outcome = "failed"
        _fail_quietly(job, exc.code, exc.detail or "")
    except SoftTimeLimitExceeded:
        outcome = "timeout"
        _fail_quietly(job, "stage_timeout", f"{job.stage} took longer than {soft_time_limit}s")
    except Exception:
        outcome = "crashed"
        logger.exception("stage crashed %s", log_fields)
        _fail_quietly(job, "internal_error", f"Unexpected error in stage {job.stage}")
    finally:
        elapsed = time.monotonic() - started
        stage_run_observe(kind=kind, stage=stage, outcome=outcome, seconds=elapsed)
        logger.info("stage end %s in %.2fs (%s)", log_fields, elapsed, outcome)


def _handle_transient(job: Job, exc: TransientFailure, log_fields: str) -> None:
    from apps.jobs.services import JobLost, job_retry_stage_later

    try:
        if job_retry_stage_later(job=job, code=exc.code, detail=exc.detail, retry_after_sec=exc.retry_after_sec):
            logger.warning("stage transient failure, retrying %s: %s", log_fields, exc)
            return
    except JobLost:
        return
    _fail_quietly(job, exc.code, exc.detail or "Upstream kept failing")


def _fail_quietly(job: Job, code: str, detail: str) -> None:
    from apps.jobs.services import JobLost, job_fail

    try:
        job_fail(job=job, code=code, detail=detail)
    except JobLost:
        logger.info("job %s already moved on; failure %s not recorded", job.public_id, code)


def _check_stage_handed_on(job: Job, task_name: str) -> None:
    """A stage must end by advancing, waiting, succeeding or failing the job; flag one that did not."""
    current = Job.objects.filter(pk=job.pk).values_list("status", "dispatch_seq").first()
    if current and current[0] == JobStatus.PROCESSING and current[1] == job.dispatch_seq:
        logger.error("stage %s left job %s processing; failing it", task_name, job.public_id)
        _fail_quietly(job, "internal_error", f"Stage {job.stage} did not complete")
