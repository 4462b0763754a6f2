"""Auto dubbing: submits and the pipeline stages.

Pipeline of an autodub job (stages in apps/jobs/stages.py):
  upload   (upload worker)  the source as Perso accepts it (mp4 video, or mp3 audio) → Perso media
  submit   (perso worker)   one Perso translate project (translation and voice are Perso's) → WAITING
  download (perso worker)   the dubbed video (VIDEO projects) and the dubbed audio → READY

The dubbed audio of a VIDEO project is extracted from the dubbed video with ffmpeg (`-vn`), once;
when that fails Perso's own dubbed-audio target is used, and only when both fail is the job FAILED
(READY always carries the audio, the phone waits for it). Every stage can run again (admin retry):
files already stored are kept.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, JobFailure
from apps.core.storage import job_file_key, local_copy, storage_save_file
from apps.jobs.models import Job, JobKind
from apps.jobs.services import job_advance, job_heartbeat, job_set_result, job_succeed, job_update_upstream
from apps.jobs.submits import SubmitRequest
from apps.media.ffmpeg import FfmpegError, NotMedia, probe, run_ffmpeg
from apps.media.sources import AUTO_LANGUAGE, audio_to_mp3, same_language, source_local_path, work_dir
from apps.media.submit_source import source_job_submit
from apps.perso.outputs import perso_download_target
from apps.perso.submits import perso_submit_project
from apps.perso.uploads import perso_upload_media

logger = logging.getLogger(__name__)

STAGE_UPLOAD = "upload"
STAGE_SUBMIT = "submit"
STAGE_DOWNLOAD = "download"

# Keys of an autodub job's `result`.
RESULT_VIDEO_KEY = "dubbedVideoKey"
RESULT_AUDIO_KEY = "dubbedAudioKey"
RESULT_AUDIO_ORIGIN = "dubbedAudioOrigin"  # "extracted" (from the dubbed video) or "perso"

PERSO_VIDEO_FORMATS = ("mp4", "mov")
TTS_MODEL_PATTERN = re.compile(r"^[A-Z0-9_]{1,40}$")


@dataclass(frozen=True)
class AutoDubSpec:
    media_type: str
    source_language_code: str
    target_language_code: str
    number_of_speakers: int
    tts_model: str | None
    edited_render_job_id: str | None


def autodub_spec_check(spec: AutoDubSpec) -> None:
    if spec.source_language_code == spec.target_language_code or same_language(
        spec.source_language_code, spec.target_language_code
    ):
        raise BadRequest(
            ErrorCode.SAME_LANGUAGE, "targetLanguageCode must differ from sourceLanguageCode for auto dubbing"
        )
    if spec.tts_model is not None and not TTS_MODEL_PATTERN.match(spec.tts_model):
        raise BadRequest(ErrorCode.INVALID_TTS_MODEL, f"ttsModel is not a known voice model (got {spec.tts_model!r})")


# --- Submit -------------------------------------------------------------------------------------------


def autodub_submit(request: SubmitRequest, spec: AutoDubSpec) -> Job:
    autodub_spec_check(spec)
    return source_job_submit(request, kind=JobKind.AUTODUB, spec=spec, first_stage=STAGE_UPLOAD)


# --- Stage: upload (upload worker) ---------------------------------------------------------------------


def _video_for_perso(*, source: Path, folder: Path, public_id: str, duration_ms: int | None) -> Path:
    """mp4/mov go as they are; other containers are re-encoded to H.264/AAC mp4."""
    try:
        info = probe(source)
    except FfmpegError as exc:
        raise JobFailure(ErrorCode.INVALID_MEDIA, "The source is not readable audio or video") from exc
    if any(name in info.format_name.split(",") for name in PERSO_VIDEO_FORMATS):
        return source
    target = folder / f"autodub-{public_id}.mp4"
    try:
        run_ffmpeg(
            ["-i", str(source), "-map", "0:v:0", "-map", "0:a:0", "-c:v", "libx264", "-preset", "veryfast"]
            + ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(target)],
            timeout=settings.AUTODUB_EXTRACT_TIMEOUT_SEC,
            expected_duration_ms=duration_ms,
        )
    except FfmpegError as exc:
        raise JobFailure(ErrorCode.FFMPEG_ERROR, "Could not convert the video for dubbing") from exc
    return target


def autodub_upload(*, job: Job) -> None:
    source_spec = job.spec["source"]
    is_video = job.spec.get("mediaType") == "VIDEO" and bool(source_spec.get("hasVideo"))
    duration_ms = source_spec.get("durationMs") or None
    job_heartbeat(job=job, progress=2, progress_reason="Preparing media")
    with work_dir() as folder, source_local_path(job) as source_path:
        if is_video:
            media_path = _video_for_perso(
                source=source_path, folder=folder, public_id=job.public_id, duration_ms=duration_ms
            )
        else:
            media_path = audio_to_mp3(
                source=source_path, target=folder / f"autodub-{job.public_id}.mp3", duration_ms=duration_ms
            )
        job_heartbeat(job=job, progress=5, progress_reason="Uploading")
        file_name = f"autodub-{job.public_id}{'.mp4' if is_video else '.mp3'}"
        media_seq = perso_upload_media(
            local_path=media_path, file_name=file_name, media_type="video" if is_video else "audio"
        )
    job_update_upstream(job=job, upstream={"persoMediaSeq": media_seq, "persoIsVideo": is_video})
    job_advance(job=job, stage=STAGE_SUBMIT, progress=8, progress_reason="Submitting")


# --- Stage: submit (perso worker) ----------------------------------------------------------------------


def autodub_submit_translate(*, job: Job) -> None:
    perso_submit_project(
        job=job,
        kind="translate",
        media_seq=int(job.upstream["persoMediaSeq"]),
        on_complete_stage=STAGE_DOWNLOAD,
        progress_span=(10, 90),
        is_video=bool(job.upstream.get("persoIsVideo")),
        title=f"autodub-{job.public_id}",
        source_language=job.spec.get("sourceLanguageCode") or AUTO_LANGUAGE,
        target_languages=[{"code": job.spec["targetLanguageCode"], "tts_model": job.spec.get("ttsModel") or ""}],
        number_of_speakers=int(job.spec.get("numberOfSpeakers") or 1),
        preferred_speed_type="GREEN",
        with_lip_sync=False,
    )


# --- Stage: download (perso worker) --------------------------------------------------------------------


def _stored(job: Job, result_key: str) -> str | None:
    key = job.result.get(result_key)
    return key if key and default_storage.exists(key) else None


def _download_dubbed_video(*, job: Job, project_seq: int, folder: Path) -> str | None:
    """The dubbed mp4 in storage, or None when Perso has no usable video (the audio can still make READY)."""
    job_heartbeat(job=job, progress=91, progress_reason="Downloading dubbed video")
    try:
        path = perso_download_target(project_seq=project_seq, target="dubbingVideo", dest=folder / "dubbed.mp4")
        if not probe(path).has_video:
            raise JobFailure(ErrorCode.PERSO_OUTPUT_INVALID, "Perso's dubbed video has no video stream")
    except (JobFailure, NotMedia) as exc:
        logger.warning("autodub %s: no dubbed video: %s", job.public_id, exc)
        return None
    key = storage_save_file(key=job_file_key(job.public_id, "dubbed.mp4"), local_path=path)
    job_set_result(job=job, result_updates={RESULT_VIDEO_KEY: key})
    return key


def _extract_dubbed_audio(*, job: Job, video_key: str, folder: Path) -> str | None:
    job_heartbeat(job=job, progress=95, progress_reason="Extracting dubbed audio")
    target = folder / "dubbed-extracted.mp3"
    try:
        with local_copy(video_key, suffix=".mp4") as video_path:
            audio_to_mp3(source=video_path, target=target, timeout=settings.AUTODUB_EXTRACT_TIMEOUT_SEC)
    except JobFailure as exc:
        logger.warning("autodub %s: audio extraction from the dubbed video failed: %s", job.public_id, exc)
        return None
    return storage_save_file(key=job_file_key(job.public_id, "dubbed.mp3"), local_path=target)


def _perso_dubbed_audio(*, job: Job, project_seq: int, folder: Path) -> str:
    """Perso's own dubbed audio (voice with background), as mp3; raises JobFailure when unusable."""
    job_heartbeat(job=job, progress=96, progress_reason="Downloading dubbed audio")
    downloaded = perso_download_target(project_seq=project_seq, target="translatedAudio", dest=folder / "perso-audio")
    target = folder / "dubbed-perso.mp3"
    audio_to_mp3(source=downloaded, target=target, timeout=settings.AUTODUB_EXTRACT_TIMEOUT_SEC)
    return storage_save_file(key=job_file_key(job.public_id, "dubbed.mp3"), local_path=target)


def autodub_download(*, job: Job) -> None:
    project_seq = int(job.upstream["persoProjectSeq"])
    is_video = bool(job.upstream.get("persoIsVideo"))
    with work_dir() as folder:
        video_key = _stored(job, RESULT_VIDEO_KEY)
        if is_video and video_key is None:
            video_key = _download_dubbed_video(job=job, project_seq=project_seq, folder=folder)
        audio_key = _stored(job, RESULT_AUDIO_KEY)
        origin = job.result.get(RESULT_AUDIO_ORIGIN)
        if audio_key is None and video_key is not None:
            audio_key, origin = _extract_dubbed_audio(job=job, video_key=video_key, folder=folder), "extracted"
        if audio_key is None:
            try:
                audio_key, origin = _perso_dubbed_audio(job=job, project_seq=project_seq, folder=folder), "perso"
            except JobFailure as exc:
                raise JobFailure(ErrorCode.DUBBED_AUDIO_UNAVAILABLE, f"No dubbed audio could be produced: {exc.detail}")
    job_succeed(
        job=job, result_updates={RESULT_VIDEO_KEY: video_key, RESULT_AUDIO_KEY: audio_key, RESULT_AUDIO_ORIGIN: origin}
    )
