"""Audio separation and stem remix: submits (idempotent), the pipeline stages (cut → Perso →
stems), the mix reservation and the mix itself.

Pipeline of a separation job (stages in apps/jobs/stages.py):
  prepare (upload worker)  cut the window to PCM WAV, upload to Perso, submit the audio-separation
                           project → WAITING, polled by beat
  stems   (perso worker)   download the speaker archive and the background, mix voice_all from the
                           speakers, store every stem with its measured duration → READY
A mix job (render worker) mixes chosen stems; its success disposes of the separation's stem files.
"""

import hashlib
import logging
import math
import re
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, Conflict, JobFailure, NotFound, TransientFailure
from apps.core.storage import job_file_key, local_copy, storage_save_file
from apps.jobs.models import Job, JobEvent, JobKind, JobStatus
from apps.jobs.services import (
    job_create,
    job_event_add,
    job_find_live_by_key,
    job_heartbeat,
    job_set_result,
    job_succeed,
)
from apps.jobs.submits import SPEC_REQUEST_FINGERPRINT, SubmitIdentity, request_fingerprint, same_request_check
from apps.media.ffmpeg import FfmpegCancelled, FfmpegError, NotMedia, probe, run_ffmpeg
from apps.media.sources import render_output_source
from apps.media.stems import RESULT_STEMS, separation_stems, stem_label
from apps.perso.errors import PersoError
from apps.perso.services import (
    perso_download_background,
    perso_download_speaker_archive,
    perso_submit_project,
    perso_upload_media,
)
from apps.separation.archives import ArchiveError, archive_extract_files
from apps.separation.selectors import RESULT_MIX_DURATION_MS, RESULT_MIX_OUTPUT_KEY, live_mix_of
from apps.separation.trim import (
    TrimWindow,
    cut_audio_to_wav,
    cut_to_duration,
    pad_with_silence,
    source_probe,
    trim_bounds_check,
    trim_fit_to_duration,
)

logger = logging.getLogger(__name__)

STAGE_PREPARE = "prepare"
STAGE_STEMS = "stems"
STAGE_MIX = "mix"

SOURCE_UPLOAD = "upload"
SOURCE_RENDER = "render"
UPLOAD_STAGING_PREFIX = "uploads/separation/"

# An explicit Idempotency-Key header is honoured this long.
IDEMPOTENCY_HEADER_WINDOW = timedelta(hours=24)
# A ready job is handed out again only with at least this much retention left (the phone keeps stems days).
MIN_REMAINING_RETENTION = timedelta(days=1)

MIX_MAX_VOLUME = 2.0
MIX_TIMEOUT_SEC = 900.0
MIX_LIMITER = "alimiter=limit=0.95:attack=5:release=50:level=disabled:latency=enabled"
STEM_CONTAINER_EXTENSIONS = {"wav": ".wav", "mp3": ".mp3", "flac": ".flac", "ogg": ".ogg"}
MAX_SPEAKERS = 10
# Stems longer than the window by more than this were padded for Perso and are cut back.
PADDING_CUT_TOLERANCE_MS = 20
# Result key: the measured length of the audio sent to Perso before any padding.
RESULT_CONTENT_DURATION_MS = "contentDurationMs"


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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def separation_idempotency_key(*, source_fingerprint: str, spec: SeparationSpec, window: TrimWindow | None) -> str:
    """Same source + same window + same spec → same key (the owner is part of the unique constraint)."""
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


def header_idempotency_key(header_value: str) -> str:
    return "hdr:" + hashlib.sha256(header_value.encode()).hexdigest()


def _reusable(job: Job, *, key: str) -> bool:
    """Whether a live job found by key may answer this submit again."""
    now = timezone.now()
    if key.startswith("hdr:") and job.created_at < now - IDEMPOTENCY_HEADER_WINDOW:
        return False
    if job.kind == JobKind.SEPARATION:
        if job.status == JobStatus.SUCCEEDED and live_mix_of(separation_job=job) is not None:
            return False  # consumed by a mix: a new separation is a new request
        if job.expires_at and job.expires_at < now + MIN_REMAINING_RETENTION:
            return False
    return True


def _find_reusable(*, owner, kind: str, base_key: str, fingerprint: str = "") -> tuple[Job | None, str]:
    """(a job that answers this submit, or None; the key a new job must take). A live job that may
    not be reused keeps its key under the partial unique constraint, so the next job chains after it."""
    key = base_key
    for _ in range(50):
        existing = job_find_live_by_key(owner=owner, kind=kind, idempotency_key=key)
        if existing is None:
            return None, key
        if _reusable(existing, key=base_key):
            if base_key.startswith("hdr:"):
                same_request_check(existing, SubmitIdentity(fingerprint=fingerprint, header=base_key))
            return existing, key
        key = f"{base_key}|after:{existing.public_id}"[:255]
    raise Conflict(ErrorCode.IDEMPOTENCY_CHAIN_TOO_LONG, "Too many submits with the same idempotency key")


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
        source, fingerprint = {"kind": SOURCE_UPLOAD}, "sha256:" + _file_sha256(upload_path)
    else:
        raise BadRequest(ErrorCode.SOURCE_REQUIRED, "either file part or editedRenderJobId is required")
    window = trim_fit_to_duration(window=window, duration_ms=duration_ms)

    base_key = (
        header_idempotency_key(idempotency_header)
        if idempotency_header
        else separation_idempotency_key(source_fingerprint=fingerprint, spec=spec, window=window)
    )
    request_print = separation_idempotency_key(source_fingerprint=fingerprint, spec=spec, window=window)
    existing, key = _find_reusable(owner=owner, kind=JobKind.SEPARATION, base_key=base_key, fingerprint=request_print)
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
    if not created and idempotency_header:
        same_request_check(job, SubmitIdentity(fingerprint=request_print, header=idempotency_header))
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


# --- Stage: prepare (upload worker) -----------------------------------------------------------------


def separation_prepare(*, job: Job) -> None:
    """Cuts the window to WAV, uploads it to Perso and submits the audio-separation project. The
    staged upload is deleted once Perso has the audio, or when the job fails for good here."""
    source = job.spec["source"]
    staged = source["kind"] == SOURCE_UPLOAD and source["storageKey"].startswith(UPLOAD_STAGING_PREFIX)
    try:
        _separation_prepare(job=job, source=source)
    except JobFailure:
        if staged:
            default_storage.delete(source["storageKey"])
        raise
    if staged:
        default_storage.delete(source["storageKey"])


def _separation_prepare(*, job: Job, source: dict) -> None:
    window = None
    if job.spec.get("trimStartMs") is not None:
        window = TrimWindow(start_ms=job.spec["trimStartMs"], end_ms=job.spec["trimEndMs"])
    if not default_storage.exists(source["storageKey"]):
        raise JobFailure(ErrorCode.SOURCE_MISSING, "The source media is no longer available; please submit again")
    job_heartbeat(job=job, progress=2, progress_reason="Preparing audio")
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as work_dir:
        wav_path = Path(work_dir) / f"{job.public_id}.wav"
        with local_copy(source["storageKey"]) as source_path:
            try:
                cut_audio_to_wav(source=source_path, target=wav_path, window=window)
            except FfmpegCancelled:
                raise
            except FfmpegError as exc:
                logger.warning("separation %s: cut failed: %s\n%s", job.public_id, exc, exc.stderr_tail)
                raise JobFailure(ErrorCode.FFMPEG_ERROR, "Trim extraction failed") from exc
        content_ms = _measured_duration_ms(wav_path)
        if content_ms is None:
            raise JobFailure(ErrorCode.FFMPEG_ERROR, "Trim extraction failed: no audio in the chosen range")
        upload_path = wav_path
        if content_ms < settings.SEPARATION_MIN_UPSTREAM_MS:
            upload_path = Path(work_dir) / f"{job.public_id}.padded.wav"
            try:
                pad_with_silence(
                    source=wav_path, target=upload_path, min_duration_ms=settings.SEPARATION_MIN_UPSTREAM_MS
                )
            except FfmpegError as exc:
                raise JobFailure(ErrorCode.FFMPEG_ERROR, "Trim extraction failed") from exc
        job_set_result(job=job, result_updates={RESULT_CONTENT_DURATION_MS: content_ms})
        job_heartbeat(job=job, progress=5, progress_reason="Uploading")
        media_seq = perso_upload_media(local_path=upload_path, file_name=wav_path.name, media_type="AUDIO")
    perso_submit_project(
        job=job,
        kind="separation",
        media_seq=media_seq,
        on_complete_stage=STAGE_STEMS,
        progress_span=(10, 90),
        is_video=False,
        title=f"separation-{job.public_id}",
        number_of_speakers=job.spec.get("numberOfSpeakers") or 1,
    )


# --- Stage: stems (perso worker) ----------------------------------------------------------------------


_DIGITS = re.compile(r"(\d+)")


def _natural_key(name: str) -> list:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(base)]


@dataclass(frozen=True)
class StoredStem:
    stem_id: str
    label: str
    storage_key: str
    duration_ms: int

    def as_result_entry(self) -> dict:
        """The JSON kept in the job's result (read back by selectors.separation_stems)."""
        return {
            "stemId": self.stem_id,
            "label": self.label,
            "storageKey": self.storage_key,
            "durationMs": self.duration_ms,
        }


def _measured_duration_ms(path: Path) -> int | None:
    """ffprobe's duration of an audio file, None when it holds no audio."""
    try:
        media = probe(path, timeout=60)
    except FfmpegError:
        return None
    return media.duration_ms if media.has_audio and media.duration_ms > 0 else None


def _store_audio_stem(
    *, job: Job, stem_id: str, path: Path, work_dir: Path, max_duration_ms: int | None = None
) -> StoredStem | None:
    """Probes and stores one stem (transcoded to WAV when its container is not one players sniff;
    cut back to `max_duration_ms` when the upload was padded)."""
    try:
        media = probe(path, timeout=60)
    except FfmpegError as exc:
        logger.warning("separation %s: stem %s is not readable audio: %s", job.public_id, stem_id, exc)
        return None
    if not media.has_audio or media.duration_ms <= 0:
        logger.warning("separation %s: stem %s has no audio", job.public_id, stem_id)
        return None
    container = media.format_name.split(",")[0]
    extension = STEM_CONTAINER_EXTENSIONS.get(container)
    if max_duration_ms and media.duration_ms > max_duration_ms + PADDING_CUT_TOLERANCE_MS:
        trimmed = work_dir / f"{stem_id}.trimmed.wav"
        try:
            cut_to_duration(source=path, target=trimmed, duration_ms=max_duration_ms)
            media = probe(trimmed, timeout=60)
        except FfmpegError as exc:
            logger.warning("separation %s: stem %s could not be cut back: %s", job.public_id, stem_id, exc)
            return None
        path, extension = trimmed, ".wav"
    if extension is None:
        converted = work_dir / f"{stem_id}.converted.wav"
        try:
            run_ffmpeg(["-i", str(path), "-vn", "-map", "0:a:0", "-c:a", "pcm_s16le", str(converted)], timeout=600)
        except FfmpegError as exc:
            logger.warning("separation %s: stem %s could not be converted: %s", job.public_id, stem_id, exc)
            return None
        path, extension = converted, ".wav"
    key = storage_save_file(key=job_file_key(job.public_id, f"{stem_id}{extension}"), local_path=path)
    return StoredStem(stem_id=stem_id, label=stem_label(stem_id), storage_key=key, duration_ms=media.duration_ms)


def _mix_speakers(*, speaker_paths: list[Path], target: Path) -> None:
    """All speakers at their own level: amix's default normalize=1 would cost 6 dB for two speakers."""
    arguments: list[str] = []
    for path in speaker_paths:
        arguments += ["-i", str(path)]
    labels = "".join(f"[{index}:a]" for index in range(len(speaker_paths)))
    graph = f"{labels}amix=inputs={len(speaker_paths)}:duration=longest:dropout_transition=0:normalize=0[out]"
    run_ffmpeg(
        [*arguments, "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le", str(target)],
        timeout=MIX_TIMEOUT_SEC,
    )


def separation_collect_stems(*, job: Job) -> None:
    """Downloads the finished project's outputs and stores them as stems; READY only with stems."""
    project_seq = job.upstream.get("persoProjectSeq")
    if project_seq is None:
        raise JobFailure(ErrorCode.PERSO_STATE_LOST, "The Perso project of this job is unknown")
    content_ms = job.result.get(RESULT_CONTENT_DURATION_MS)
    job_heartbeat(job=job, progress=90, progress_reason="Downloading stems")
    stems: list[StoredStem] = []
    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as work_dir_name:
        work_dir = Path(work_dir_name)
        archive_path = work_dir / "speakers.archive"
        perso_download_speaker_archive(project_seq=int(project_seq), dest=archive_path)
        try:
            contents = archive_extract_files(archive_path=archive_path, dest_dir=work_dir / "speakers")
        except ArchiveError as exc:
            raise JobFailure(
                ErrorCode.SEPARATION_OUTPUT_INVALID, "The separated speaker audio could not be read"
            ) from exc
        speaker_stems: list[tuple[StoredStem, Path]] = []
        for extracted in sorted(contents.files, key=lambda item: _natural_key(item.entry_name)):
            if len(speaker_stems) >= MAX_SPEAKERS:
                break
            stem = _store_audio_stem(
                job=job,
                stem_id=f"speaker_{len(speaker_stems)}",
                path=extracted.path,
                work_dir=work_dir,
                max_duration_ms=content_ms,
            )
            if stem is not None:
                speaker_stems.append((stem, extracted.path))
        if not speaker_stems:
            raise JobFailure(ErrorCode.SEPARATION_EMPTY, "Perso returned no speaker audio for this range")
        job_heartbeat(job=job, progress=94)

        if len(speaker_stems) >= 2:
            voice_all = _collect_voice_all(
                job=job,
                speaker_paths=[path for _, path in speaker_stems],
                work_dir=work_dir,
                max_duration_ms=content_ms,
            )
            if voice_all is not None:
                stems.append(voice_all)
        stems.extend(stem for stem, _ in speaker_stems)
        job_heartbeat(job=job, progress=97)

        background_path = work_dir / "background.audio"
        if _download_background(job=job, project_seq=int(project_seq), dest=background_path):
            background = _store_audio_stem(
                job=job, stem_id="background", path=background_path, work_dir=work_dir, max_duration_ms=content_ms
            )
            if background is not None:
                stems.append(background)
    # Every stem is in storage before the row says READY, so a visible READY is always servable.
    job_succeed(job=job, result_updates={RESULT_STEMS: [stem.as_result_entry() for stem in stems]})


def _collect_voice_all(
    *, job: Job, speaker_paths: list[Path], work_dir: Path, max_duration_ms: int | None
) -> StoredStem | None:
    target = work_dir / "voice_all.wav"
    try:
        _mix_speakers(speaker_paths=speaker_paths, target=target)
    except FfmpegError as exc:
        logger.warning("separation %s: voice_all mix failed: %s\n%s", job.public_id, exc, exc.stderr_tail)
        return None
    return _store_audio_stem(
        job=job, stem_id="voice_all", path=target, work_dir=work_dir, max_duration_ms=max_duration_ms
    )


def _download_background(*, job: Job, project_seq: int, dest: Path) -> bool:
    """Best effort: a missing background leaves the stem out, it does not fail the job."""
    try:
        perso_download_background(project_seq=project_seq, dest=dest)
    except (JobFailure, TransientFailure, PersoError, OSError) as exc:
        logger.warning("separation %s: background not available: %s", job.public_id, exc)
        return False
    return dest.exists() and dest.stat().st_size > 0


# --- Mix ------------------------------------------------------------------------------------------------


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
        base_key = header_idempotency_key(f"{separation_job.public_id}:{idempotency_header}")
        existing, key = _find_reusable(
            owner=owner, kind=JobKind.MIX, base_key=base_key, fingerprint=_mix_fingerprint(stems)
        )
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


def mix_filter_graph(volumes: list[float]) -> str:
    """Each stem at its volume, summed at full level (normalize=0), then a limiter against clipping.
    A single stem goes through `anull`: amix with one input gives silence on some builds."""
    chains = [f"[{index}:a]volume={volume:.4f}[a{index}]" for index, volume in enumerate(volumes)]
    inputs = "".join(f"[a{index}]" for index in range(len(volumes)))
    if len(volumes) == 1:
        mixer = f"{inputs}anull,{MIX_LIMITER}[out]"
    else:
        mixer = (
            f"{inputs}amix=inputs={len(volumes)}:duration=longest:dropout_transition=0:normalize=0,{MIX_LIMITER}[out]"
        )
    return ";".join([*chains, mixer])


def stem_mix_run(*, job: Job) -> None:
    """Mixes the chosen stems to mp3, stores it, marks the mix COMPLETED, then disposes of the stems."""
    separation_job = job.source_job
    if separation_job is None:
        raise JobFailure(ErrorCode.SEPARATION_GONE, "The separation job no longer exists")
    stems_by_id = {stem.stem_id: stem for stem in separation_stems(job=separation_job)}
    chosen = [(stems_by_id.get(entry["stemId"]), float(entry["volume"])) for entry in job.spec["stems"]]
    if any(stem is None for stem, _ in chosen):
        raise JobFailure(ErrorCode.STEM_MISSING, "A chosen stem is no longer available")
    for stem, _ in chosen:
        if not default_storage.exists(stem.storage_key):
            raise JobFailure(ErrorCode.STEM_MISSING, f"Stem file missing: {stem.stem_id}")
    expected_ms = max((stem.duration_ms or 0) for stem, _ in chosen) or None
    job_heartbeat(job=job, progress=5, progress_reason="Mixing")

    def report(percent: int) -> None:
        if percent:
            chaos_point("mix", job_id=job.pk)  # called from the progress thread
        job_heartbeat(job=job, progress=5 + percent * 90 // 100)

    with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as work_dir, ExitStack() as copies:
        arguments: list[str] = []
        for stem, _ in chosen:
            arguments += ["-i", str(copies.enter_context(local_copy(stem.storage_key)))]
        output_path = Path(work_dir) / f"{job.public_id}.mp3"
        graph = mix_filter_graph([volume for _, volume in chosen])
        try:
            run_ffmpeg(
                [
                    *arguments,
                    "-filter_complex",
                    graph,
                    "-map",
                    "[out]",
                    "-c:a",
                    "libmp3lame",
                    "-b:a",
                    "192k",
                    str(output_path),
                ],
                timeout=MIX_TIMEOUT_SEC,
                expected_duration_ms=expected_ms,
                on_progress=report,
            )
        except FfmpegCancelled:
            raise
        except FfmpegError as exc:
            logger.warning("mix %s failed: %s\n%s", job.public_id, exc, exc.stderr_tail)
            raise JobFailure(ErrorCode.FFMPEG_ERROR, "The stem mix failed") from exc
        try:
            duration_ms = probe(output_path).duration_ms
        except NotMedia as exc:
            raise JobFailure(ErrorCode.FFMPEG_ERROR, "The stem mix produced no audio") from exc
        except FfmpegError as exc:
            raise TransientFailure(ErrorCode.PROBE_FAILED, str(exc)) from exc
        output_key = storage_save_file(key=job_file_key(job.public_id, f"{job.public_id}.mp3"), local_path=output_path)
    job_succeed(job=job, result_updates={RESULT_MIX_OUTPUT_KEY: output_key, RESULT_MIX_DURATION_MS: duration_ms})
    separation_stems_dispose(separation_job=separation_job, mix_job=job)


def separation_stems_dispose(*, separation_job: Job, mix_job: Job) -> None:
    """Deletes the stem files of a separation consumed by a successful mix. The separation row stays
    (status GETs keep answering, with mixJobId) until its retention ends."""
    for stem_entry in separation_job.result.get(RESULT_STEMS) or []:
        try:
            default_storage.delete(stem_entry["storageKey"])
        except OSError:
            logger.exception("separation %s: could not delete stem %s", separation_job.public_id, stem_entry["stemId"])
    job_event_add(job=separation_job, kind=JobEvent.Kind.NOTE, message=f"stems disposed after {mix_job.public_id}")
