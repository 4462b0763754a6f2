"""What the feature submits share: language codes, the source media (an upload
probed in the request, or a finished render of the caller, `editedRenderJobId`), and the status strings.

Used by apps.subtitles, apps.dubbing and apps.separation; the render output keys are written by
apps.render.services.render_run.
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, JobFailure, NotFound
from apps.core.serializers import wire_fields
from apps.core.storage import job_file_key, local_copy, safe_file_name, storage_save_file
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_touch_expiry
from apps.jobs.submits import file_sha256
from apps.media.ffmpeg import FfmpegError, MediaInfo, NotMedia, probe, run_ffmpeg

AUTO_LANGUAGE = "auto"
MEDIA_TYPES = ("VIDEO", "AUDIO")
LANGUAGE_CODE_PATTERN = r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}$"

# Keys of `Job.result` written by a successful render (apps.render.services.render_run).
RESULT_OUTPUT_KEY = "output_key"
RESULT_OUTPUT_KIND = "output_kind"
RESULT_DURATION_MS = "duration_ms"

SOURCE_UPLOAD = "upload"
SOURCE_RENDER = "render"


def same_language(first: str | None, second: str | None) -> bool:
    """ "en" and "en" or "en-US" and "en" are the same language; "auto" or unknown is never equal."""
    if not first or not second or AUTO_LANGUAGE in (first.lower(), second.lower()):
        return False
    a, b = first.lower().replace("_", "-"), second.lower().replace("_", "-")
    if a == b:
        return True
    return a.split("-")[0] == b.split("-")[0] and ("-" not in a or "-" not in b)


# --- source media -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SourceMedia:
    """Where a job's source lives: {"kind", "storageKey", "renderJobId"?, "hasVideo", "durationMs"}."""

    kind: str
    storage_key: str
    render_job_id: str | None = None
    has_video: bool
    duration_ms: int

    def as_spec(self) -> dict:
        return wire_fields(self)


def upload_probe(path: Path) -> MediaInfo:
    """The upload must be readable media with sound (names and content types lie: the bytes decide)."""
    try:
        info = probe(path)
    except NotMedia as exc:
        raise BadRequest(ErrorCode.NOT_MEDIA, "The file is not readable audio or video") from exc
    except FfmpegError as exc:
        raise BadRequest(ErrorCode.NOT_MEDIA, "The file could not be probed as audio or video") from exc
    if not info.has_audio:
        raise BadRequest(ErrorCode.NO_AUDIO, "The file has no audio track")
    return info


def upload_store(*, public_id: str, upload_path: Path, upload_name: str, info: MediaInfo) -> SourceMedia:
    suffix = Path(safe_file_name(upload_name or "")).suffix.lower()[:8]
    key = storage_save_file(key=job_file_key(public_id, f"source{suffix}"), local_path=upload_path)
    return SourceMedia(kind=SOURCE_UPLOAD, storage_key=key, has_video=info.has_video, duration_ms=info.duration_ms)


def render_source(*, owner, render_job_id: str) -> SourceMedia:
    """A finished render of the caller, else 400 `edited_render_not_ready` (`editedRenderJobId not found or
    not ready: <id>`): the same answer as separation's, whoever's render it is."""
    try:
        output = render_output_source(owner=owner, render_job_id=render_job_id)
    except NotFound as exc:
        raise BadRequest(ErrorCode.EDITED_RENDER_NOT_READY, exc.detail) from exc
    return SourceMedia(
        kind=SOURCE_RENDER,
        storage_key=output.storage_key,
        has_video=output.output_kind == "video",
        duration_ms=output.duration_ms,
        render_job_id=render_job_id,
    )


@contextmanager
def source_local_path(job: Job) -> Iterator[Path]:
    """The job's source media as a local file; a source gone from storage fails the job clearly."""
    storage_key = job.spec["source"]["storageKey"]
    if not default_storage.exists(storage_key):
        raise JobFailure(ErrorCode.SOURCE_MISSING, "The source media is no longer available; please submit again")
    with local_copy(storage_key, suffix=Path(storage_key).suffix) as path:
        yield path


@contextmanager
def work_dir() -> Iterator[Path]:
    folder = tempfile.mkdtemp(dir=settings.FILE_UPLOAD_TEMP_DIR)
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def audio_to_mp3(*, source: Path, target: Path, duration_ms: int | None = None, timeout: float = 600.0) -> Path:
    """The audio of any media file as mp3 (`-vn`): what Perso reliably accepts, and the phone plays."""
    try:
        run_ffmpeg(
            ["-i", str(source), "-vn", "-map", "0:a:0", "-c:a", "libmp3lame", "-q:a", "4", str(target)],
            timeout=timeout,
            expected_duration_ms=duration_ms,
        )
    except FfmpegError as exc:
        raise JobFailure(ErrorCode.FFMPEG_ERROR, "Could not extract the audio from the media") from exc
    if not target.exists() or target.stat().st_size == 0:
        raise JobFailure(ErrorCode.FFMPEG_ERROR, "Extracting the audio produced no output")
    return target


def submit_source_identity(source: SourceMedia | None, upload_path: Path | None) -> str:
    """What a submit's source is, for the one-submit-one-job rule: the render it names, or the bytes."""
    if source is not None:
        return f"render:{source.render_job_id or source.storage_key}"
    assert upload_path is not None  # a submit names a render or sends a file
    return "sha256:" + file_sha256(upload_path)


@dataclass(frozen=True)
class RenderOutput:
    storage_key: str
    output_kind: str  # "video" | "audio"
    duration_ms: int
    job: Job


def render_output_source(*, owner, render_job_id: str) -> RenderOutput:
    """A completed render of `owner` as a source file; refreshes the output's sliding TTL.

    Raises NotFound("not_found", "editedRenderJobId not found or not ready: <id>") for an
    unknown id, another user's render, a render that has not completed, or an expired output.
    """
    not_ready = NotFound(ErrorCode.NOT_FOUND, f"editedRenderJobId not found or not ready: {render_job_id}")
    job = Job.objects.filter(public_id=render_job_id, owner=owner, kind=JobKind.RENDER).first()
    if job is None or job.status != JobStatus.SUCCEEDED or not job.result.get(RESULT_OUTPUT_KEY):
        raise not_ready
    if _expired(job.expires_at):
        raise not_ready
    job_touch_expiry(job=job, ttl_sec=settings.RENDER_OUTPUT_TTL_SEC)
    return RenderOutput(
        storage_key=job.result[RESULT_OUTPUT_KEY],
        output_kind=job.result.get(RESULT_OUTPUT_KIND, "video"),
        duration_ms=int(job.result.get(RESULT_DURATION_MS, 0)),
        job=job,
    )


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= timezone.now()
