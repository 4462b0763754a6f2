"""The two stages of a separation that talk to Perso.

  prepare (upload worker)  cut the window to PCM WAV, upload to Perso, submit the audio-separation
                           project → WAITING, polled by beat
  stems   (perso worker)   download the speaker archive and the background, mix voice_all from the
                           speakers, store every stem with its measured duration → READY

The stage table is apps/jobs/stages.py.
"""

import logging
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure, TransientFailure
from apps.core.storage import local_copy
from apps.jobs.models import Job
from apps.jobs.services import job_heartbeat, job_set_result, job_succeed
from apps.media.ffmpeg import FfmpegCancelled, FfmpegError
from apps.media.stems import RESULT_STEMS
from apps.media.timeline import TimeRange
from apps.perso.errors import PersoError
from apps.perso.outputs import perso_download_background, perso_download_speaker_archive
from apps.perso.submits import perso_submit_project
from apps.perso.uploads import perso_upload_media
from apps.separation.archives import ArchiveError, archive_extract_files
from apps.separation.mix import speakers_mix
from apps.separation.stem_storage import StoredStem, measured_duration_ms, store_audio_stem
from apps.separation.submits import SOURCE_UPLOAD, UPLOAD_STAGING_PREFIX
from apps.separation.trim import cut_audio_to_wav, pad_with_silence

logger = logging.getLogger(__name__)

STAGE_STEMS = "stems"
MAX_SPEAKERS = 10
# Result key: the measured length of the audio sent to Perso before any padding.
RESULT_CONTENT_DURATION_MS = "contentDurationMs"


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
        window = TimeRange(start_ms=job.spec["trimStartMs"], end_ms=job.spec["trimEndMs"])
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
        content_ms = measured_duration_ms(wav_path)
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
            stem = store_audio_stem(
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
            background = store_audio_stem(
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
        speakers_mix(speaker_paths=speaker_paths, target=target)
    except FfmpegError as exc:
        logger.warning("separation %s: voice_all mix failed: %s\n%s", job.public_id, exc, exc.stderr_tail)
        return None
    return store_audio_stem(
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
