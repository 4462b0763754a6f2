"""Submitting a Perso project for a job, through the space's queue: our in-flight slots (counted in
Postgres across workers), the wait as "Queued" when no slot is free or Perso's queue is full, and the
adoption of a project whose submit was interrupted, so a crash never pays Perso twice. Once a project
is submitted the poller (polling.py) takes the job over.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.errors import TransientFailure
from apps.jobs.models import ACTIVE_STATUSES, Job, JobStatus
from apps.jobs.services import JobLost, job_schedule_poll, job_update_upstream, job_wait_upstream
from apps.observability.context import current_job_bound
from apps.perso.client import PersoClient, perso_client
from apps.perso.errors import PersoError, PersoQueueFull, perso_errors_as_stage_outcome, perso_stage_failure
from apps.perso.project_cleanup import perso_job_projects_delete

logger = logging.getLogger(__name__)

PROJECT_KINDS = ("stt", "translate", "separation")

# upstream["persoState"]: where the job stands with Perso.
STATE_QUEUED = "queued"  # waiting for a slot (our cap or Perso's VT5034); the poller resubmits
STATE_SUBMITTING = "submitting"  # a slot is reserved and the submit call is under way
STATE_PROCESSING = "processing"  # Perso accepted it; the poller polls progress
STATE_DONE = "done"  # Perso finished (completed or failed)
IN_FLIGHT_STATES = (STATE_SUBMITTING, STATE_PROCESSING)

QUEUE_READY_CACHE_KEY = "perso:queue-ready:v1"
QUEUE_READY_CACHE_SEC = 24 * 3600


def perso_submit_project(
    *,
    job: Job,
    kind: str,
    media_seq: int,
    on_complete_stage: str,
    progress_span: tuple[int, int] = (10, 80),
    is_video: bool = False,
    title: str | None = None,
    source_language: str | None = None,
    target_languages: list[dict] | None = None,
    number_of_speakers: int = 1,
    preferred_speed_type: str = "GREEN",
    with_lip_sync: bool = False,
    deadline_sec: int | None = None,
) -> None:
    """Submits a Perso project for the job and hands the job to the poller (no worker waits).

    kind: "stt" | "translate" | "separation". When Perso completes, the job advances to
    `on_complete_stage`; Perso's progress 0-100 is shown within `progress_span` of the job's progress.
    When our in-flight cap (PERSO_MAX_IN_FLIGHT per space, all workers) is reached or Perso answers
    VT5034 (queue full), the job waits as "Queued" and the poller submits again with backoff until
    the deadline. VT4021 fails the job with `insufficient_credits`."""
    if kind not in PROJECT_KINDS:
        raise ValueError(f"unknown Perso project kind {kind!r}")
    if kind == "translate" and not target_languages:
        raise ValueError("a translate project needs target_languages")
    if _resume_interrupted_submit(job=job):
        return
    now = timezone.now()
    submit_request = {
        "kind": kind,
        "mediaSeq": int(media_seq),
        "isVideo": bool(is_video),
        "title": perso_job_title(job=job, title=title, kind=kind),
        "sourceLanguage": source_language or "auto",
        "targetLanguages": [
            {"code": item["code"], "tts_model": item.get("tts_model") or item.get("ttsModel") or ""}
            for item in (target_languages or [])
        ],
        "numberOfSpeakers": int(number_of_speakers or 1),
        "preferredSpeedType": preferred_speed_type or "GREEN",
        "withLipSync": bool(with_lip_sync),
    }
    deadline_at = now + timedelta(seconds=deadline_sec or settings.PERSO_POLL_DEADLINE_SEC)
    job_update_upstream(
        job=job,
        upstream={
            "provider": "perso",
            "persoState": STATE_QUEUED,
            "persoRequest": submit_request,
            "onCompleteStage": on_complete_stage,
            "progressSpan": [int(progress_span[0]), int(progress_span[1])],
            "persoSubmitAttempts": 0,
            "persoPolls": 0,
            "persoUnchangedPolls": 0,
            "persoDeadlineAt": deadline_at.isoformat(),
        },
    )
    perso_try_submit(job=job, deadline_at=deadline_at)


def perso_job_title(*, job: Job, title: str | None, kind: str) -> str:
    """The project title: unique to this job and this submit (a nonce, so an ops retry never adopts
    the project of an earlier run). An uncertain submit is reconciled by finding this title."""
    return f"{title or kind}-{job.public_id}-{secrets.token_hex(3)}"[:200]


def _resume_interrupted_submit(*, job: Job) -> bool:
    """This stage ran before and its worker died after reserving a slot. Never pays twice: a project
    already recorded is handed to the poller; a submit whose answer was lost is looked up by its
    job-unique title and adopted when Perso has it. False: nothing is known to Perso, submit anew."""
    state = job.upstream.get("persoState")
    if state == STATE_PROCESSING and job.upstream.get("persoProjectSeq") is not None:
        logger.info(
            "job %s: Perso project %s already submitted; polling it", job.public_id, job.upstream["persoProjectSeq"]
        )
        job_wait_upstream(job=job, upstream={}, next_poll_at=timezone.now(), progress_reason="Enqueue Pending")
        return True
    if state != STATE_SUBMITTING:
        return False
    found = _projects_of_interrupted_submit(job)
    if not found:
        return False
    logger.info("job %s: adopting Perso project(s) %s of an interrupted submit", job.public_id, found)
    now = timezone.now()
    _record_submitted(
        job=job, project_seqs=found, attempts=int(job.upstream.get("persoSubmitAttempts", 0)) + 1, now=now
    )
    job_wait_upstream(
        job=job,
        upstream={},
        next_poll_at=now + timedelta(seconds=settings.PERSO_POLL_FIRST_DELAY_SEC),
        progress_reason="Enqueue Pending",
    )
    return True


def perso_in_flight_count() -> int:
    """Perso projects of this space that hold one of its slots, counted in Postgres across workers."""
    return Job.objects.filter(status__in=ACTIVE_STATUSES, upstream__persoState__in=list(IN_FLIGHT_STATES)).count()


def _lock_space_slots() -> None:
    """Serialises slot reservation between workers (a transaction-scoped Postgres advisory lock;
    SQLite transactions are already serial)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x7065_7273_6F00 + int(settings.PERSO_SPACE_SEQ)])


def _reserve_slot(*, job: Job) -> bool:
    """Takes a slot if one is free. Raises JobLost when the row's Perso state is no longer the one this
    copy of the job holds: another poller took the submit (a freed slot's wake can make a job that is
    being submitted due again), and submitting again or queueing it over that submit would pay twice."""
    with transaction.atomic():
        _lock_space_slots()
        row_state = Job.objects.filter(pk=job.pk).values_list("upstream__persoState", flat=True).first()
        if row_state != job.upstream.get("persoState"):
            raise JobLost(job.public_id)
        if perso_in_flight_count() >= settings.PERSO_MAX_IN_FLIGHT:
            return False
        job_update_upstream(job=job, upstream={"persoState": STATE_SUBMITTING})
        return True


def _queue_retry_delay(attempts: int) -> float:
    first = float(settings.PERSO_POLL_FIRST_DELAY_SEC)
    return min(float(settings.PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC), first * 1.5 ** max(0, attempts - 1))


def perso_try_submit(*, job: Job, deadline_at: datetime | None = None) -> None:
    """Submits the project stored in job.upstream if a slot is free, else keeps the job queued.
    Runs in the submitting stage and, for queued jobs, in the poller."""
    with current_job_bound(job.pk):
        _try_submit(job=job, deadline_at=deadline_at)


def _try_submit(*, job: Job, deadline_at: datetime | None) -> None:
    request = job.upstream["persoRequest"]
    attempts = int(job.upstream.get("persoSubmitAttempts", 0)) + 1
    now = timezone.now()
    if not _reserve_slot(job=job):
        _wait_queued(job=job, attempts=attempts, deadline_at=deadline_at, reason="our in-flight limit")
        return
    client = perso_client()
    try:
        project_seqs = _submit_once(client=client, request=request)
    except PersoQueueFull:
        job_update_upstream(job=job, upstream={"persoState": STATE_QUEUED})
        _wait_queued(job=job, attempts=attempts, deadline_at=deadline_at, reason="Perso queue full (VT5034)")
        return
    except PersoError as exc:
        # The slot is released: no project was created (or, for an uncertain submit, we stop here).
        outcome = perso_stage_failure(exc)
        state = STATE_QUEUED if isinstance(outcome, TransientFailure) else STATE_DONE
        job_update_upstream(job=job, upstream={"persoState": state, "persoSubmitError": str(exc)[:300]})
        raise outcome from exc
    chaos_point("perso_submit_accepted")
    _record_submitted(job=job, project_seqs=project_seqs, attempts=attempts, now=now)
    job_wait_upstream(
        job=job,
        upstream={},
        next_poll_at=now + timedelta(seconds=settings.PERSO_POLL_FIRST_DELAY_SEC),
        deadline_at=deadline_at,
        progress_reason="Enqueue Pending",
    )


def perso_queue_ensure(*, client: PersoClient, force: bool = False) -> None:
    """The documented step before a space's first submit: `PUT …/queue`, once per space (remembered
    in the shared cache), and again when `force` (a submit was refused with 'space queue not found')."""
    key = f"{QUEUE_READY_CACHE_KEY}:{client.api_base_url}:{client.space_seq}"
    if not force and cache.get(key):
        return
    client.init_queue()
    cache.set(key, True, QUEUE_READY_CACHE_SEC)


def _record_submitted(*, job: Job, project_seqs: list[int], attempts: int, now: datetime) -> None:
    """Writes the new project seqs on the job at once. A job cancelled while its submit was in flight
    still gets them (directly on the row), so the cleanup deletes the projects instead of losing them."""
    upstream = {
        "persoState": STATE_PROCESSING,
        "persoProjectSeq": project_seqs[0],
        "persoProjectSeqs": project_seqs,
        "persoSubmittedAt": now.isoformat(),
        "persoSubmitAttempts": attempts,
    }
    try:
        job_update_upstream(job=job, upstream=upstream)
    except JobLost:
        with transaction.atomic():
            row = Job.objects.select_for_update().get(pk=job.pk)
            Job.objects.filter(pk=job.pk).update(upstream={**row.upstream, **upstream, "persoState": STATE_DONE})
        logger.warning(
            "job %s ended while its Perso submit was in flight; deleting project(s) %s", job.public_id, project_seqs
        )
        row = Job.objects.get(pk=job.pk)
        if row.status == JobStatus.CANCELLED:
            perso_job_projects_delete(job=row)
        raise


def perso_adopt_or_resubmit(*, job: Job) -> None:
    """A job left in `submitting` (its worker died mid-submit): adopts the project the submit may have
    made (found by the job-unique title), else queues the job to be submitted again."""
    found = _projects_of_interrupted_submit(job)
    if found:
        logger.info("job %s: adopting Perso project(s) %s of an interrupted submit", job.public_id, found)
        now = timezone.now()
        _record_submitted(
            job=job, project_seqs=found, attempts=int(job.upstream.get("persoSubmitAttempts", 0)) + 1, now=now
        )
        job_schedule_poll(job=job, next_poll_at=now + timedelta(seconds=settings.PERSO_POLL_FIRST_DELAY_SEC))
        return
    job_update_upstream(job=job, upstream={"persoState": STATE_QUEUED})
    perso_try_submit(job=job)


def _projects_of_interrupted_submit(job: Job) -> list[int]:
    """The projects a submit whose answer was lost made, found by the job-unique title it was sent with."""
    title = job.upstream.get("persoRequest", {}).get("title") or ""
    with current_job_bound(job.pk), perso_errors_as_stage_outcome():
        return perso_client().projects_titled(title) if title else []


def _submit_once(*, client: PersoClient, request: dict) -> list[int]:
    """One submit after the queue is initialised; refused with 'space queue not found' (the queue
    was dropped upstream, or the cache is stale) → the queue is initialised again, one more try."""
    perso_queue_ensure(client=client)
    try:
        return _submit_call(client=client, request=request)
    except PersoError as exc:
        if not exc.is_queue_not_found:
            raise
        logger.info("Perso answered 'space queue not found'; initialising the queue and submitting again")
        perso_queue_ensure(client=client, force=True)
        return _submit_call(client=client, request=request)


def _submit_call(*, client: PersoClient, request: dict) -> list[int]:
    kind = request["kind"]
    title = request.get("title") or None
    if kind == "stt":
        return [client.submit_stt(media_seq=request["mediaSeq"], is_video=request["isVideo"], title=title)]
    if kind == "separation":
        return [client.submit_audio_separation(media_seq=request["mediaSeq"], is_video=request["isVideo"], title=title)]
    return client.submit_translate(
        media_seq=request["mediaSeq"],
        is_video=request["isVideo"],
        source_language=request.get("sourceLanguage") or "auto",
        target_languages=request["targetLanguages"],
        number_of_speakers=request.get("numberOfSpeakers") or 1,
        preferred_speed_type=request.get("preferredSpeedType") or "GREEN",
        with_lip_sync=bool(request.get("withLipSync")),
        title=title,
    )


def _wait_queued(*, job: Job, attempts: int, deadline_at: datetime | None, reason: str) -> None:
    delay = _queue_retry_delay(attempts)
    logger.info("job %s queued for Perso (%s); next submit in %.0fs", job.public_id, reason, delay)
    job_wait_upstream(
        job=job,
        upstream={"persoState": STATE_QUEUED, "persoSubmitAttempts": attempts, "persoQueuedReason": reason},
        next_poll_at=timezone.now() + timedelta(seconds=delay),
        deadline_at=deadline_at,
        progress_reason="Queued",
    )
