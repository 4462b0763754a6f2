"""The one wrapper every job-stage task goes through.

A stage task receives `(job_pk, dispatch_seq)`, claims the job (a stale or duplicate delivery
does nothing), binds the job to the logs and the upstream call log, calls one service, and turns
the service's exceptions into job transitions: `TransientFailure` → the stage again with
backoff, `JobFailure`/`ApiError` → FAILED with its code, a lost database connection → nothing (the lease
runs out and the reconciler re-sends the stage), anything else → FAILED `internal_error`.

While the stage runs, a heartbeat thread renews its lease every JOB_LEASE_SEC/3 (fenced by the
dispatch number it claimed), so a live stage never loses its lease however long it runs, and a dead
worker's stage is re-sent by the reconciler soon after its last renewal expires.

The I/O queues run their tasks in threads of one process (workers/pools.py): every stage has its own
heartbeat thread, Django's database connections are per thread (Celery's Django fixup closes the
task thread's connections before and after each task; the heartbeat closes its own), and, since a
threads pool cannot interrupt a task, the heartbeat raises the soft time limit in the stage's thread.
"""

import ctypes
import functools
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from celery import current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.core.errors import ApiError, JobFailure, TransientFailure
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import JobLost, job_claim, job_fail, job_lease_renew, job_retry_stage_later
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
            job = job_claim(job_id=job_pk, dispatch_seq=dispatch_seq)
            if job is None:
                logger.info(
                    "stage task %s: job %s dispatch %s is stale or taken, skipped", fn.__name__, job_pk, dispatch_seq
                )
                return
            claimed_dispatch_seq = job.dispatch_seq  # a stage that hands on moves `job` to the next number
            with job_log_context(job):
                log_context_bind(attempt=job.attempts)
                renewer = LeaseRenewer(
                    job_pk=job.pk,
                    dispatch_seq=claimed_dispatch_seq,
                    stage_time_limit_sec=None if _pool_enforces_time_limits() else soft_time_limit,
                )
                renewer.start()
                try:
                    outcome = _run_stage(fn, job, soft_time_limit)
                finally:
                    renewer.stop()
                if outcome != STAGE_DATABASE_LOST:
                    _check_stage_handed_on(job, fn.__name__, claimed_dispatch_seq=claimed_dispatch_seq)

        return task

    return decorator


def stage_task(name: str, service, *, soft_time_limit: int):
    """The stage task `name` ("workers.<module>.<task>"): runs `service(job=job)` on the claimed job."""

    def run(job: Job) -> None:
        service(job=job)

    run.__module__, run.__name__ = name.rsplit(".", 1)
    run.__qualname__ = run.__name__
    return job_stage_task(soft_time_limit=soft_time_limit)(run)


# The stage lost its database connection (a restart or failover): not the job's fault, so it is not
# failed; its lease runs out and the reconciler sends the stage again.
STAGE_DATABASE_LOST = "database_lost"


def _pool_enforces_time_limits() -> bool:
    """A prefork child runs its task in its main thread and gets SIGALRM at the soft limit; a task in
    a pool thread (threads pool) gets nothing unless the heartbeat raises it."""
    return threading.current_thread() is threading.main_thread()


def _run_stage(fn, job: Job, soft_time_limit: int) -> str:
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
    except (OperationalError, InterfaceError) as exc:
        outcome = STAGE_DATABASE_LOST
        logger.warning("stage lost the database, left to its lease and the reconciler %s: %s", log_fields, exc)
        connection.close()
    except Exception:
        outcome = "crashed"
        logger.exception("stage crashed %s", log_fields)
        _fail_quietly(job, "internal_error", f"Unexpected error in stage {job.stage}")
    finally:
        elapsed = time.monotonic() - started
        stage_run_observe(kind=kind, stage=stage, outcome=outcome, seconds=elapsed)
        logger.info("stage end %s in %.2fs (%s)", log_fields, elapsed, outcome)
    return outcome


class LeaseRenewer:
    """Renews the lease of one claimed stage from a thread of the worker process until stopped or
    until the job moves on (renewal refused: taken over, cancelled, handed on). A database outage is
    ridden out: the next renewal reconnects; the lease only lapses if the outage outlasts it.
    With `stage_time_limit_sec`, raises SoftTimeLimitExceeded once in the thread that started it when
    the stage runs longer (at its next Python instruction: a blocking call ends first, by its timeout)."""

    def __init__(
        self,
        *,
        job_pk: int,
        dispatch_seq: int,
        every_sec: float | None = None,
        stage_time_limit_sec: float | None = None,
    ):
        self.job_pk = job_pk
        self.dispatch_seq = dispatch_seq
        self.every_sec = every_sec if every_sec is not None else max(1.0, settings.JOB_LEASE_SEC / 3)
        self._stage_thread_id = threading.get_ident()
        self._time_limit_at = time.monotonic() + stage_time_limit_sec if stage_time_limit_sec else None
        self._stopped = threading.Event()
        self._stopping = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_pk}-{dispatch_seq}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # A renewal in flight ends by itself (its UPDATE matches nothing once the stage handed on).
        with self._stopping:
            self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        next_renewal_at = time.monotonic() + self.every_sec
        try:
            while not self._stopped.wait(self._seconds_to_next_event(next_renewal_at)):
                now = time.monotonic()
                if self._time_limit_at is not None and now >= self._time_limit_at:
                    self._time_limit_at = None
                    self._interrupt_stage()
                if now < next_renewal_at:
                    continue
                next_renewal_at = now + self.every_sec
                try:
                    if not job_lease_renew(job_pk=self.job_pk, dispatch_seq=self.dispatch_seq):
                        logger.info("lease of job %s dispatch %s not renewed: moved on", self.job_pk, self.dispatch_seq)
                        return
                except DatabaseError as exc:
                    logger.warning("lease renewal of job %s failed, retrying: %s", self.job_pk, exc)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def _seconds_to_next_event(self, next_renewal_at: float) -> float:
        next_event_at = min(next_renewal_at, self._time_limit_at or next_renewal_at)
        return max(0.0, next_event_at - time.monotonic())

    def _interrupt_stage(self) -> None:
        with self._stopping:
            if self._stopped.is_set():
                return
            logger.warning(
                "job %s dispatch %s: stage over its time limit, interrupting", self.job_pk, self.dispatch_seq
            )
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._stage_thread_id), ctypes.py_object(SoftTimeLimitExceeded)
            )


def _handle_transient(job: Job, exc: TransientFailure, log_fields: str) -> None:
    try:
        if job_retry_stage_later(job=job, code=exc.code, detail=exc.detail, retry_after_sec=exc.retry_after_sec):
            logger.warning("stage transient failure, retrying %s: %s", log_fields, exc)
            return
    except JobLost:
        return
    _fail_quietly(job, exc.code, exc.detail or "Upstream kept failing")


def _fail_quietly(job: Job, code: str, detail: str) -> None:
    try:
        job_fail(job=job, code=code, detail=detail)
    except JobLost:
        logger.info("job %s already moved on; failure %s not recorded", job.public_id, code)


def _check_stage_handed_on(job: Job, task_name: str, *, claimed_dispatch_seq: int) -> None:
    """A stage must end by advancing, waiting, succeeding or failing the job; flag one that did not.
    Compared with the number this stage claimed: once it handed on, the next stage may already be
    running (PROCESSING under the next number) on another worker, and that one is not ours to fail."""
    current = Job.objects.filter(pk=job.pk).values_list("status", "dispatch_seq", "next_poll_at").first()
    if current and current[0] == JobStatus.PROCESSING and current[1] == claimed_dispatch_seq:
        logger.error("stage %s left job %s processing; failing it", task_name, job.public_id)
        _fail_quietly(job, "internal_error", f"Stage {job.stage} did not complete")
    elif current and current[0] == JobStatus.WAITING:
        poll_tick_send_at(current[2])


# --- poll ticks at the moment a poll is due -------------------------------------------------------

POLL_TICK_TASK = "workers.perso.poll_due_jobs_task"


def poll_tick_send_at(due_at: datetime | None) -> None:
    """Sends one poll tick for the moment `due_at` (an ETA message), so a job is polled when its poll
    is due instead of up to POLL_TICK_SEC later; beat's ticks stay as the safety net. Only for a moment
    within one beat interval (the tick before it sends it), and once per tenth of a second (the shared
    cache), so ticks do not multiply."""
    if due_at is None or current_app.conf.task_always_eager:
        return
    now = timezone.now()
    tick = timedelta(seconds=settings.POLL_TICK_SEC)
    if due_at - now > tick or not cache.add(f"poll-tick-at:{round(due_at.timestamp() * 10)}", True, timeout=60):
        return
    try:
        current_app.send_task(POLL_TICK_TASK, eta=max(due_at, now), expires=max(due_at, now) + tick)
    except KombuOperationalError as exc:
        logger.warning("poll tick for %s not sent (broker unavailable), beat's tick polls: %s", due_at, exc)


# --- scratch space of a worker process -------------------------------------------------------------

SCRATCH_PREFIX = "worker-"


def scratch_dir_name(pid: int) -> str:
    return f"{SCRATCH_PREFIX}{socket.gethostname()}-{pid}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scratch_sweep_dead(root: Path) -> list[Path]:
    """Removes the scratch folders of this host's worker processes that are gone (killed mid-stage:
    nothing else ever deletes what their temporary folders held). Returns what it removed."""
    removed = []
    prefix = f"{SCRATCH_PREFIX}{socket.gethostname()}-"
    for folder in root.glob(f"{prefix}*"):
        pid = folder.name[len(prefix) :]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@worker_init.connect
def use_private_scratch_in_a_threads_worker(sender=None, **_) -> None:
    """A threads (or solo) worker runs its tasks in the main process, which gets no
    worker_process_init: it takes its scratch folder at start."""
    pool = getattr(sender, "pool_cls", "")
    if "prefork" not in (pool if isinstance(pool, str) else pool.__module__):
        use_private_scratch()


@worker_process_init.connect
def use_private_scratch(**_) -> None:
    """Each worker process keeps its temporary files in a folder named by host and pid (under
    FILE_UPLOAD_TEMP_DIR), so the leftovers of a process that was killed can be told from live work
    and swept: every new worker process sweeps those of dead ones."""
    root = Path(settings.FILE_UPLOAD_TEMP_DIR)
    swept = scratch_sweep_dead(root)
    if swept:
        logger.warning("removed the scratch folders of %d dead worker process(es)", len(swept))
    folder = root / scratch_dir_name(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    tempfile.tempdir = str(folder)
