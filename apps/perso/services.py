"""What capability stages call to use Perso: upload, submit (then the poller takes over), and the
reads and downloads of a finished project.

Failures leave as `JobFailure` (for good) or `TransientFailure` (the stage is run again with backoff),
so a stage function only calls these and lets the exceptions through.
"""

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, BadRequest, JobFailure, TransientFailure
from apps.jobs.models import ACTIVE_STATUSES, Job, JobStatus
from apps.jobs.services import JobLost, job_schedule_poll, job_update_upstream, job_wait_upstream
from apps.media.ffmpeg import FfmpegError, probe
from apps.observability.context import current_job_id
from apps.perso.client import PersoClient, PersoProgress, perso_client
from apps.perso.errors import (
    PersoAuthError,
    PersoDownloadError,
    PersoError,
    PersoInsufficientCredits,
    PersoInvalidMedia,
    PersoNotFound,
    PersoQueueFull,
    PersoRateLimited,
    PersoSubmitUncertain,
    PersoTransientError,
    perso_error_to_api_error,
)

logger = logging.getLogger(__name__)

PROJECT_KINDS = ("stt", "translate", "separation")
VALIDATABLE_EXTENSIONS = {".mp4", ".webm", ".mov", ".mp3", ".wav"}

# upstream["persoState"]: where the job stands with Perso.
STATE_QUEUED = "queued"  # waiting for a slot (our cap or Perso's VT5034); the poller resubmits
STATE_SUBMITTING = "submitting"  # a slot is reserved and the submit call is under way
STATE_PROCESSING = "processing"  # Perso accepted it; the poller polls progress
STATE_DONE = "done"  # Perso finished (completed or failed)
IN_FLIGHT_STATES = (STATE_SUBMITTING, STATE_PROCESSING)

MEDIA_ERROR_TEXT = {
    "F4004": "The file is larger than Perso accepts",
    "F4005": "The Perso plan usage limit is exceeded",
    "F4007": "Perso does not accept this media type",
    "F4008": "The media is longer than Perso accepts",
    "F4009": "The media is too short for Perso (minimum 5 seconds)",
    "F40010": "The video resolution is higher than Perso accepts",
    "F40011": "The video resolution is lower than Perso accepts (minimum 201 pixels)",
}


@dataclass(frozen=True)
class SttSentence:
    offset_ms: int
    duration_ms: int
    text: str
    speaker: int


# --- languages (synchronous, for GET /api/v2/languages) ----------------------------------------------

LANGUAGES_CACHE_KEY = "perso:languages:v1"
QUEUE_READY_CACHE_KEY = "perso:queue-ready:v1"
QUEUE_READY_CACHE_SEC = 24 * 3600


def perso_languages_list(*, attempts: int = 2) -> list[dict]:
    """Perso's languages (experimental ones included) in our API's shape, cached LANGUAGES_CACHE_SEC.
    A Perso failure raises the contract's ApiError (401/402/429/400/502)."""
    cached = cache.get(LANGUAGES_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        languages = PersoClient(max_attempts=attempts).languages()
    except PersoError as exc:
        logger.warning("Perso languages failed: %s", exc)
        raise perso_error_to_api_error(exc) from exc
    rows = [
        {
            "code": language.code,
            "name": language.name,
            "nativeName": language.native_name,
            "supportsDubbing": language.supports_dubbing,
            "supportsSubtitles": language.supports_subtitles,
        }
        for language in languages
    ]
    if settings.LANGUAGES_CACHE_SEC > 0:
        cache.set(LANGUAGES_CACHE_KEY, rows, settings.LANGUAGES_CACHE_SEC)
    return rows


def _language_base(code: str) -> str:
    return code.lower().replace("_", "-").split("-")[0]


def perso_languages_check(*, source: str | None = None, targets: list[str] = ()) -> None:
    """Submit-time check, before anything is stored or uploaded: the source (unless "auto") and every
    target must be in Perso's cached /languages list (a regional code matches its base language).
    An unsupported one is a 400 `unsupported_language` whose detail lists the supported codes. When
    the list cannot be had (Perso unreachable), the check is skipped: Perso's own VT4043/VT4044
    answer then fails the job."""
    try:
        supported = [row["code"] for row in perso_languages_list(attempts=1)]
    except ApiError as exc:
        logger.warning("language check skipped: Perso's language list is unavailable (%s)", exc.code)
        return
    exact = {code.lower().replace("_", "-") for code in supported}
    bases = {_language_base(code) for code in supported}
    requested = [("sourceLanguageCode", source)] if source and source.lower() != "auto" else []
    requested += [("targetLanguageCodes", code) for code in targets]
    for field_name, code in requested:
        if code.lower().replace("_", "-") not in exact and _language_base(code) not in bases:
            raise BadRequest(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"{field_name} {code!r} is not a language Perso supports; supported: {', '.join(supported)}",
            )


# --- error translation ----------------------------------------------------------------------------


def perso_stage_failure(error: PersoError) -> JobFailure | TransientFailure:
    """The stage outcome of a Perso error: transient errors retry the stage, others fail the job."""
    if isinstance(error, PersoSubmitUncertain):
        return JobFailure(
            ErrorCode.PERSO_SUBMIT_UNCERTAIN,
            "Perso's answer to the request was lost and no project from it could be confirmed; "
            "it was not sent again to avoid paying twice",
        )
    if isinstance(error, PersoInsufficientCredits):
        return JobFailure(ErrorCode.INSUFFICIENT_CREDITS, "The Perso account has no credits left for this job")
    if isinstance(error, PersoInvalidMedia):
        return JobFailure(ErrorCode.INVALID_MEDIA, MEDIA_ERROR_TEXT.get(error.code, "Perso rejected the media file"))
    if isinstance(error, PersoAuthError):
        return JobFailure(ErrorCode.PERSO_AUTH_FAILED, "Authentication failed with Perso")
    if isinstance(error, PersoRateLimited):
        return TransientFailure(ErrorCode.PERSO_RATE_LIMITED, "Perso rate limit exceeded", retry_after_sec=30)
    if isinstance(error, PersoTransientError):
        return TransientFailure(ErrorCode.PERSO_UNAVAILABLE, "Perso service unavailable")
    if isinstance(error, PersoNotFound):
        return JobFailure(ErrorCode.PERSO_NOT_FOUND, "Perso does not know this project or media")
    if isinstance(error, PersoDownloadError):
        return JobFailure(ErrorCode.PERSO_DOWNLOAD_REFUSED, f"A Perso file could not be fetched ({error.code})")
    return JobFailure(ErrorCode.PERSO_ERROR, f"Perso refused the request ({error.code or error.status})")


@contextmanager
def perso_errors_as_stage_outcome() -> Iterator[None]:
    """Inside a stage: any PersoError leaves as JobFailure/TransientFailure."""
    try:
        yield
    except PersoError as exc:
        logger.warning("Perso call failed: %s", exc)
        raise perso_stage_failure(exc) from exc


# --- upload ---------------------------------------------------------------------------------------


def perso_upload_media(
    *, local_path: Path, file_name: str, media_type: str, validate: bool = True, client: PersoClient | None = None
) -> int:
    """SAS token → streamed blob PUT (a 403 means the SAS expired: new SAS, once) → register → mediaSeq.
    With `validate`, the media's limits are checked by Perso before the upload (fail fast)."""
    client = client or perso_client()
    local_path = Path(local_path)
    media_type = "video" if media_type.lower() == "video" else "audio"
    with perso_errors_as_stage_outcome():
        if validate:
            _validate_before_upload(client=client, local_path=local_path, file_name=file_name, media_type=media_type)
        sas = client.sas_token(file_name)
        try:
            client.put_blob(sas.blob_sas_url, local_path)
        except PersoAuthError as exc:
            if exc.status != 403:
                raise
            logger.info("SAS URL expired before the upload finished; asking for a new one")
            sas = client.sas_token(file_name)
            client.put_blob(sas.blob_sas_url, local_path)
        media = client.register_media(media_type=media_type, file_url=sas.blob_url, file_name=file_name)
    return media.seq


def _validate_before_upload(*, client: PersoClient, local_path: Path, file_name: str, media_type: str) -> None:
    extension = Path(file_name).suffix.lower() or local_path.suffix.lower()
    if extension not in VALIDATABLE_EXTENSIONS:
        return
    try:
        info = probe(local_path)
    except FfmpegError as exc:
        raise JobFailure(ErrorCode.INVALID_MEDIA, "The file is not readable audio or video") from exc
    video = info.video if media_type == "video" else None
    client.validate_media(
        media_type=media_type,
        duration_ms=info.duration_ms,
        original_name=file_name,
        extension=extension,
        size=local_path.stat().st_size,
        width=video.width if video else None,
        height=video.height if video else None,
    )


# --- submit and the queue ---------------------------------------------------------------------------


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
    with transaction.atomic():
        _lock_space_slots()
        if perso_in_flight_count() >= settings.PERSO_MAX_IN_FLIGHT:
            return False
        job_update_upstream(job=job, upstream={"persoState": STATE_SUBMITTING})
        return True


def _queue_retry_delay(attempts: int) -> float:
    first = float(settings.PERSO_POLL_FIRST_DELAY_SEC)
    return min(float(settings.PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC), first * 1.5 ** max(0, attempts - 1))


@contextmanager
def _calls_linked_to(job: Job) -> Iterator[None]:
    """Links the Perso call log to `job` (stage tasks and the poller do it already; this covers
    direct callers)."""
    token = current_job_id.set(job.pk)
    try:
        yield
    finally:
        current_job_id.reset(token)


def perso_try_submit(*, job: Job, deadline_at: datetime | None = None) -> None:
    """Submits the project stored in job.upstream if a slot is free, else keeps the job queued.
    Runs in the submitting stage and, for queued jobs, in the poller."""
    with _calls_linked_to(job):
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
    with _calls_linked_to(job), perso_errors_as_stage_outcome():
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


def perso_progress_to_job_progress(*, perso_progress: int, progress_span: tuple[int, int] | list[int]) -> int:
    low, high = int(progress_span[0]), int(progress_span[1])
    return int(low + (high - low) * max(0, min(100, perso_progress)) / 100)


def perso_projects_progress(*, project_seqs: list[int], client: PersoClient | None = None) -> PersoProgress:
    """The combined progress of a job's projects (one per target language): the least advanced one;
    failed as soon as one failed, completed when all completed."""
    client = client or perso_client()
    answers = [client.progress(seq) for seq in project_seqs]
    failed = next((answer for answer in answers if answer.is_failed), None)
    if failed:
        return failed
    return min(answers, key=lambda answer: (answer.is_completed, answer.progress))


# --- deleting the projects of cancelled and abandoned jobs -------------------------------------------------


def _upstream_merge(*, job_pk: int, changes: dict) -> None:
    """Merges keys into a job's upstream whatever its status (cleanup bookkeeping of ended jobs)."""
    with transaction.atomic():
        row = Job.objects.select_for_update().get(pk=job_pk)
        Job.objects.filter(pk=job_pk).update(upstream={**row.upstream, **changes})


def perso_job_projects_delete(*, job: Job, client: PersoClient | None = None) -> bool:
    """Deletes the Perso project(s) of an ended job (`DELETE …/projects/{projectSeq}/spaces/{spaceSeq}`),
    which stops the work and frees its slot in the space's queue. A project Perso no longer has
    (404 VT4041/VT4045) counts as deleted. True when none is left; otherwise the failure is recorded
    on the job and the reconciler tries again."""
    client = client or perso_client()
    seqs = [int(seq) for seq in job.upstream.get("persoProjectSeqs") or [job.upstream.get("persoProjectSeq")] if seq]
    remaining, last_error = [], ""
    with _calls_linked_to(job):
        for seq in seqs:
            try:
                client.delete(seq)
            except PersoNotFound:
                pass
            except PersoError as exc:
                remaining.append(seq)
                last_error = str(exc)[:300]
    if remaining:
        attempts = int(job.upstream.get("persoDeleteAttempts", 0)) + 1
        logger.warning(
            "job %s: deleting Perso project(s) %s failed (attempt %d): %s",
            job.public_id,
            remaining,
            attempts,
            last_error,
        )
        _upstream_merge(job_pk=job.pk, changes={"persoDeleteAttempts": attempts, "persoDeleteError": last_error})
        return False
    _upstream_merge(job_pk=job.pk, changes={"persoDeletedAt": timezone.now().isoformat(), "persoDeleteError": ""})
    return True


def perso_abandoned_projects(*, limit: int = 100):
    """Ended jobs whose Perso projects still exist: cancelled ones, and failed ones we gave up on
    while Perso was still working (`persoAbandoned`, e.g. past the deadline)."""
    return (
        Job.objects.filter(upstream__provider="perso", upstream__has_key="persoProjectSeqs")
        .filter(Q(status=JobStatus.CANCELLED) | Q(status=JobStatus.FAILED, upstream__persoAbandoned=True))
        .exclude(upstream__has_key="persoDeletedAt")
        .order_by("updated_at")[:limit]
    )


def perso_abandoned_projects_delete(*, limit: int = 50) -> int:
    """The reconciler's sweep: deletes what cancels left behind (also retries failed deletes). One
    attempt per project and run: the sweep itself is the retry, so an outage never stalls it."""
    client = PersoClient(max_attempts=1)
    deleted = 0
    for job in perso_abandoned_projects(limit=limit):
        deleted += perso_job_projects_delete(job=job, client=client)
    return deleted


# --- reading a finished project ------------------------------------------------------------------------


def perso_stt_sentences(*, project_seq: int, client: PersoClient | None = None) -> list[SttSentence]:
    """The STT script of a completed STT project (all cursor pages), sorted by offset."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        script = client.stt_script_all(project_seq)
    sentences = [
        SttSentence(
            offset_ms=sentence.offset_ms,
            duration_ms=sentence.duration_ms,
            text=sentence.original_text.strip(),
            speaker=sentence.speaker_order_index,
        )
        for sentence in script.sentences
        if sentence.original_text.strip()
    ]
    return sorted(sentences, key=lambda sentence: (sentence.offset_ms, sentence.duration_ms))


def perso_translation_script(*, project_seq: int, client: PersoClient | None = None):
    """The translation script (original and translated text per sentence) of a translate project."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        return client.script_all(project_seq)


def perso_wait_storage_ready(*, project_seq: int, flag: str, client: PersoClient | None = None) -> None:
    """Files land in storage a little after "Completed": checks download-info a few times (seconds
    apart); still not ready → TransientFailure, so the stage runs again later instead of waiting."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        for check in range(settings.PERSO_STORAGE_READY_CHECKS):
            if client.download_info(project_seq).has(flag):
                return
            if check + 1 < settings.PERSO_STORAGE_READY_CHECKS:
                time.sleep(settings.PERSO_STORAGE_READY_WAIT_SEC)
    raise TransientFailure(
        ErrorCode.PERSO_STORAGE_NOT_READY, f"Perso files are not ready yet ({flag})", retry_after_sec=15
    )


# Which download-info flag says a target is in storage.
TARGET_READY_FLAGS = {
    "video": "hasTranslatedVideo",
    "dubbingVideo": "hasTranslatedVideo",
    "lipSyncVideo": "hasLipSyncVideo",
    "originalSubtitle": "hasOriginalSubtitle",
    "translatedSubtitle": "hasTranslatedSubtitle",
    "originalVoiceAudio": "hasOriginalVoiceOnly",
    "voiceAudio": "hasTranslatedVoice",
    "translatedVoice": "hasTranslatedVoice",
    "backgroundAudio": "hasOriginalBackground",
    "voicewithBackgroundAudio": "hasTranslatedVoiceWithBackground",
    "translatedAudio": "hasTranslateAudio",
    "originalVoiceSpeakers": "hasOriginalSpeakerAudioCollection",
}
SEPARATION_TARGETS = {"originalVoiceSpeakers"}


def perso_download_target(
    *,
    project_seq: int,
    target: str,
    dest: Path,
    separation: bool | None = None,
    wait_ready: bool = True,
    client: PersoClient | None = None,
) -> Path:
    """Downloads one `/download?target=` file of a finished project to `dest`.

    Waits for storage readiness (download-info flag) first. Each attempt asks `/download` again for a
    FRESH link, because the storage CDN caches a 404 per path for hours: a retry of the same path
    keeps failing, a fresh path does not. `separation` picks the answer model (default: by target)."""
    client = client or perso_client()
    separation = target in SEPARATION_TARGETS if separation is None else separation
    if wait_ready and target in TARGET_READY_FLAGS:
        perso_wait_storage_ready(project_seq=project_seq, flag=TARGET_READY_FLAGS[target], client=client)
    dest = Path(dest)
    with perso_errors_as_stage_outcome():
        for attempt in range(1, settings.PERSO_FRESH_LINK_ATTEMPTS + 1):
            if separation:
                link = client.separation_download_links(project_seq, target).link_for(target)
            else:
                link = client.download_links(project_seq, target).link_for(target)
            if not link:
                raise JobFailure(ErrorCode.PERSO_OUTPUT_MISSING, f"Perso gave no download link for {target}")
            try:
                client.download_file(link, dest)
                return dest
            except PersoNotFound:
                logger.info("Perso link for %s not found (attempt %s); asking for a fresh one", target, attempt)
    raise TransientFailure(
        ErrorCode.PERSO_DOWNLOAD_NOT_FOUND, f"Perso file {target} was not found in storage", retry_after_sec=30
    )


def perso_download_path(*, path: str, dest: Path, client: PersoClient | None = None) -> Path:
    """Downloads a file named by a path Perso returned (e.g. project info's originalBackgroundPath)."""
    client = client or perso_client()
    with perso_errors_as_stage_outcome():
        client.download_file(path, Path(dest))
    return Path(dest)


def perso_download_background(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """The background-only track: the documented `/download?target=backgroundAudio`
    (`audioFile.backgroundAudioDownloadLink`, ready when download-info says `hasOriginalBackground`).

    Optimisation only: when the project info carries the undocumented
    `downloadPathInfo.originalBackgroundPath`, that file is fetched first (no /download round trip);
    when it is absent or its download fails, the documented target is used."""
    client = client or perso_client()
    try:
        with perso_errors_as_stage_outcome():
            background_path = client.project(project_seq).download_path_info.original_background_path
    except (JobFailure, TransientFailure) as exc:
        logger.info("project info unavailable (%s); using the documented backgroundAudio target", exc)
        background_path = None
    if background_path:
        try:
            return perso_download_path(path=background_path, dest=dest, client=client)
        except (JobFailure, TransientFailure) as exc:
            logger.warning("originalBackgroundPath failed (%s); using the documented backgroundAudio target", exc)
    return perso_download_target(
        project_seq=project_seq, target="backgroundAudio", dest=dest, separation=True, client=client
    )


def perso_download_speaker_archive(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """The per-speaker archive (target originalVoiceSpeakers of a separation project)."""
    return perso_download_target(
        project_seq=project_seq, target="originalVoiceSpeakers", dest=dest, separation=True, client=client
    )


def perso_download_original_voice(*, project_seq: int, dest: Path, client: PersoClient | None = None) -> Path:
    """All voices without background (target originalVoiceAudio)."""
    return perso_download_target(
        project_seq=project_seq, target="originalVoiceAudio", dest=dest, separation=True, client=client
    )
