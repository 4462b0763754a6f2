"""A separation's stem files: one stem probed, cut back and stored (transcoded to WAV when needed),
and the stems disposed of once a mix has consumed them."""

import logging
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage

from apps.core.serializers import wire_fields
from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobEvent
from apps.jobs.services import job_event_add
from apps.media.ffmpeg import FfmpegError, probe, run_ffmpeg
from apps.media.stems import RESULT_STEMS, stem_label
from apps.separation.trim import cut_to_duration

logger = logging.getLogger(__name__)

STEM_CONTAINER_EXTENSIONS = {"wav": ".wav", "mp3": ".mp3", "flac": ".flac", "ogg": ".ogg"}
# Stems longer than the window by more than this were padded for Perso and are cut back.
PADDING_CUT_TOLERANCE_MS = 20


@dataclass(frozen=True)
class StoredStem:
    stem_id: str
    label: str
    storage_key: str
    duration_ms: int

    def as_result_entry(self) -> dict:
        """The JSON kept in the job's result (read back by selectors.separation_stems)."""
        return wire_fields(self)


def measured_duration_ms(path: Path) -> int | None:
    """ffprobe's duration of an audio file, None when it holds no audio."""
    try:
        media = probe(path, timeout=60)
    except FfmpegError:
        return None
    return media.duration_ms if media.has_audio and media.duration_ms > 0 else None


def store_audio_stem(
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


def separation_stems_dispose(*, separation_job: Job, mix_job: Job) -> None:
    """Deletes the stem files of a separation consumed by a successful mix. The separation row stays
    (status GETs keep answering, with mixJobId) until its retention ends."""
    for stem_entry in separation_job.result.get(RESULT_STEMS) or []:
        try:
            default_storage.delete(stem_entry["storageKey"])
        except OSError:
            logger.exception("separation %s: could not delete stem %s", separation_job.public_id, stem_entry["stemId"])
    job_event_add(job=separation_job, kind=JobEvent.Kind.NOTE, message=f"stems disposed after {mix_job.public_id}")
