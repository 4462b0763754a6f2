"""Render: accepting a render (validate, probe, store inputs, create the job), the input cache, and
running a render on a render host (download inputs, plan, one ffmpeg pass, upload the output)."""

import dataclasses
import fcntl
import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.utils import timezone

from apps.core.chaos import chaos_point
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, JobFailure, PayloadTooLarge
from apps.core.storage import job_file_key, local_copy, storage_delete_prefix, storage_save_file, storage_size
from apps.jobs.models import Job, JobKind
from apps.jobs.services import JobLost, job_heartbeat, job_succeed, job_touch_expiry
from apps.jobs.submits import SubmitIdentity, file_sha256, job_submit
from apps.media.ffmpeg import (
    FfmpegCancelled,
    FfmpegError,
    FfmpegTimeout,
    MediaInfo,
    NotMedia,
    StreamInfo,
    probe,
    run_ffmpeg,
)
from apps.media.sources import RESULT_DURATION_MS, RESULT_OUTPUT_KEY, RESULT_OUTPUT_KIND
from apps.media.stems import stem_storage_key_from_url
from apps.observability.metrics import render_speed_observe
from apps.render.config import RenderConfig, render_config_from_dict
from apps.render.models import RenderInput
from apps.render.planning import PlanError, PlanInput, render_plan, stem_input_key

logger = logging.getLogger(__name__)

RENDER_STAGE = "render"
QUEUED_REASON = "queued"
HEARTBEAT_EVERY_SEC = 2.0
STAGE_SOFT_TIME_LIMIT_SEC = 3 * 3600
SUBTITLES_KEY = "subtitles"

# Multipart part names → what they are. `audio_override` is matched before the `audio_` prefix.
_PART_KINDS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"^video$"), "video"),
    (re.compile(r"^video_\d{1,4}$"), "video"),
    (re.compile(r"^segment_image_\d{1,4}$"), "image"),
    (re.compile(r"^image_\d{1,4}$"), "image"),
    (re.compile(r"^audio_override[A-Za-z0-9_]{0,40}$"), "audio"),
    (re.compile(r"^audio_\d{1,4}$"), "audio"),
    (re.compile(r"^bgm_\d{1,4}$"), "audio"),
    (re.compile(r"^subtitles$"), "subtitles"),
)


def render_part_kind(name: str) -> str | None:
    """What a multipart file part of POST /render holds, or None for a part that is not ours."""
    for pattern, kind in _PART_KINDS:
        if pattern.match(name):
            return kind
    return None


# --- media info in JSON (job spec, cache rows) ---------------------------------------------------------


def media_to_json(media: MediaInfo) -> dict:
    return dataclasses.asdict(media)


def media_from_json(document: Mapping) -> MediaInfo:
    return MediaInfo(
        duration_ms=int(document.get("duration_ms", 0)),
        format_name=document.get("format_name", ""),
        streams=tuple(StreamInfo(**stream) for stream in document.get("streams", [])),
    )


@dataclasses.dataclass(frozen=True)
class _AcceptedInput:
    media: MediaInfo
    local_path: str | None = None  # an upload of this request, to be stored with the job
    storage_key: str | None = None  # already in storage (input cache)


IMAGE_FORMATS = {"image2", "gif", "apng", "webp", "bmp"}
ASS_MAX_PLAY_RES = 8192
_ASS_PLAY_RES = re.compile(r"^\s*PlayRes([XY])\s*:\s*(\d+)", re.MULTILINE | re.IGNORECASE)
_ASS_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _probe_part(*, name: str, path: str, kind: str) -> MediaInfo:
    """ffprobe before anything is accepted: a non-media upload is a 400, not a failed render."""
    try:
        media = probe(path)
    except NotMedia:
        raise BadRequest(ErrorCode.NOT_MEDIA, f"{name} is not a readable audio, video or image file")
    except FfmpegError as exc:
        raise BadRequest(ErrorCode.NOT_MEDIA, f"{name} could not be probed ({exc})")
    if kind == "image" and not _is_still_image(media):
        raise BadRequest(ErrorCode.NOT_AN_IMAGE, f"{name} is not an image (PNG, JPEG, WebP, GIF or BMP)")
    if kind == "audio" and not media.has_audio:
        raise BadRequest(ErrorCode.NO_AUDIO_STREAM, f"{name} has no audio stream")
    if kind == "video" and not (media.video or media.has_audio):
        raise BadRequest(ErrorCode.NOT_MEDIA, f"{name} has neither video nor audio")
    return media


def _is_still_image(media: MediaInfo) -> bool:
    """An image container (ffprobe's *_pipe/image2/gif demuxers) holding a picture, not a video file."""
    image_format = media.format_name.endswith("_pipe") or media.format_name in IMAGE_FORMATS
    return image_format and media.video is not None and not media.has_audio


def _check_subtitles(*, path: str) -> None:
    """The ASS file to burn in, checked before it can fail a render: size, UTF-8, no control
    characters, an [Events] section and a play resolution libass can allocate."""
    if Path(path).stat().st_size > settings.RENDER_SUBTITLES_MAX_BYTES:
        raise PayloadTooLarge(
            ErrorCode.FILE_TOO_LARGE, f"subtitles are limited to {settings.RENDER_SUBTITLES_MAX_BYTES} bytes"
        )
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(ErrorCode.INVALID_SUBTITLES, "subtitles must be a UTF-8 ASS file")
    if _ASS_CONTROL.search(text):
        raise BadRequest(ErrorCode.INVALID_SUBTITLES, "subtitles contain control characters (e.g. NUL)")
    if "[events]" not in text.lower():
        raise BadRequest(ErrorCode.INVALID_SUBTITLES, "subtitles is not an ASS file (no [Events] section)")
    for axis, value in _ASS_PLAY_RES.findall(text):
        if not 1 <= int(value) <= ASS_MAX_PLAY_RES:
            raise BadRequest(
                ErrorCode.INVALID_SUBTITLES, f"PlayRes{axis} must be between 1 and {ASS_MAX_PLAY_RES} (got {value})"
            )


def _check_render_size(config: RenderConfig) -> None:
    """The documented render size limits (docs/render.md), before any part is probed."""
    limits = [
        ("segments", len(config.segments), settings.RENDER_MAX_SEGMENTS),
        ("imageClips", len(config.image_clips), settings.RENDER_MAX_IMAGE_CLIPS),
        ("dubClips", len(config.dub_clips), settings.RENDER_MAX_AUDIO_CLIPS),
        ("bgmClips", len(config.bgm_clips), settings.RENDER_MAX_AUDIO_CLIPS),
    ]
    for name, count, limit in limits:
        if count > limit:
            raise BadRequest(ErrorCode.RENDER_TOO_LARGE, f"{name}: {count} items, at most {limit} per render")


def _probe_parts(uploads: Mapping[str, str]) -> tuple[dict[str, _AcceptedInput], dict[str, str]]:
    """Every file part probed once per distinct content (segments sharing one source cost one
    probe), with each part's SHA-256 for the request fingerprint."""
    digests = {name: file_sha256(path) for name, path in uploads.items()}
    probed: dict[tuple[str, str], MediaInfo] = {}
    accepted: dict[str, _AcceptedInput] = {}
    for name, path in uploads.items():
        kind = render_part_kind(name)
        if kind is None or kind == "subtitles":
            continue
        if (digests[name], kind) not in probed:
            probed[(digests[name], kind)] = _probe_part(name=name, path=path, kind=kind)
        accepted[name] = _AcceptedInput(media=probed[(digests[name], kind)], local_path=path)
    return accepted, digests


# --- input cache ---------------------------------------------------------------------------------------------


def _input_cache_prefix(public_id: str) -> str:
    return f"render-inputs/{public_id}/"


def render_input_store(*, owner, video_path: str, audio_paths: Mapping[str, str]) -> RenderInput:
    """Caches a video (+ dub audios keyed `audio_<i>`) for later renders of the same owner. The same
    video from the same owner lands in the same entry: the video is not rewritten (a render may be
    reading it), audios with the same key are replaced, and the expiry is renewed."""
    video_media = _probe_part(name="video", path=video_path, kind="video")
    audio_media = {key: _probe_part(name=key, path=path, kind="audio") for key, path in audio_paths.items()}
    render_inputs_expired_delete(limit=20)
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.RENDER_INPUT_CACHE_TTL_SEC)
    video_sha256 = file_sha256(video_path)
    entry = RenderInput.objects.filter(owner=owner, video_sha256=video_sha256).first()
    if entry is None:
        entry = RenderInput(
            public_id=f"inp-{uuid.uuid4()}",
            owner=owner,
            video_sha256=video_sha256,
            last_access_at=now,
            expires_at=expires_at,
        )
    prefix = _input_cache_prefix(entry.public_id)
    files = dict(entry.files or {})  # a hit keeps its video file and earlier audios; new audios replace
    stored = [(key, audio_paths[key], audio_media[key]) for key in audio_paths]
    cached_video = files.get("video")
    if not (cached_video and default_storage.exists(cached_video["storage_key"])):
        stored.insert(0, ("video", video_path, video_media))
    try:
        for key, path, media in stored:
            storage_key = storage_save_file(key=prefix + key, local_path=path)
            files[key] = {"storage_key": storage_key, "size": storage_size(storage_key), "media": media_to_json(media)}
        entry.files = files
        entry.video_size_bytes = files["video"]["size"]
        entry.last_access_at, entry.expires_at = now, expires_at
        entry.save()
    except IntegrityError:
        # A concurrent upload of the same video created the entry first: theirs stands, ours is dropped.
        storage_delete_prefix(prefix)
        return RenderInput.objects.get(owner=owner, video_sha256=video_sha256)
    except Exception:
        if entry.pk is None:
            storage_delete_prefix(prefix)  # a partial entry is never left behind
        raise
    return entry


def render_input_get(*, owner, input_id: str) -> RenderInput:
    """The caller's live cache entry (its expiry renewed on use), else 400 invalid_input_id."""
    entry = RenderInput.objects.filter(public_id=input_id.strip(), owner=owner, expires_at__gt=timezone.now()).first()
    if entry is None:
        raise BadRequest(ErrorCode.INVALID_INPUT_ID, "inputId expired or not found")
    now = timezone.now()
    entry.last_access_at = now
    entry.expires_at = now + timedelta(seconds=settings.RENDER_INPUT_CACHE_TTL_SEC)
    entry.save(update_fields=["last_access_at", "expires_at"])
    return entry


def render_inputs_expired_delete(*, limit: int = 200) -> int:
    """Deletes expired cache entries with their files (also called opportunistically on each upload)."""
    deleted = 0
    for entry in RenderInput.objects.filter(expires_at__lte=timezone.now())[:limit]:
        storage_delete_prefix(_input_cache_prefix(entry.public_id))
        entry.delete()
        deleted += 1
    return deleted


# --- submit ----------------------------------------------------------------------------------------------------


def render_submit(
    *,
    owner,
    config_document,
    uploads: Mapping[str, str],
    input_id: str | None = None,
    idempotency_header: str | None = None,
) -> Job:
    """Accepts a render: every part probed, every referenced key present, stems resolved, the plan
    built once as a dry run (so a config ffmpeg could not render is a 400 now, not a FAILED later),
    then the job row and its stored inputs — the render itself runs on the `render` queue."""
    config = render_config_from_dict(config_document)
    _check_render_size(config)
    subtitles_path = uploads.get(SUBTITLES_KEY)
    if subtitles_path:
        _check_subtitles(path=subtitles_path)
    accepted, digests = _probe_parts(uploads)

    if input_id:
        _add_cached_inputs(accepted, config=config, entry=render_input_get(owner=owner, input_id=input_id))

    stems = _resolve_stems(config=config, owner=owner)
    _check_referenced_keys(config, accepted)
    plan_inputs = {key: PlanInput(path=key, media=item.media) for key, item in accepted.items()}
    stem_media = MediaInfo(duration_ms=0, format_name="", streams=(StreamInfo(codec_type="audio", codec_name=""),))
    plan_inputs.update({key: PlanInput(path=key, media=stem_media) for key in stems})
    try:
        dry_run = render_plan(
            config=config, inputs=plan_inputs, output_path="out", subtitles_path="subs.ass" if subtitles_path else None
        )
    except PlanError as exc:
        raise BadRequest(exc.code, exc.detail)
    if dry_run.duration_ms > settings.RENDER_MAX_OUTPUT_SEC * 1000:
        raise BadRequest(ErrorCode.RENDER_TOO_LONG, f"The output would last {dry_run.duration_ms} ms")
    input_count = dry_run.arguments.count("-i")
    if input_count > settings.RENDER_MAX_INPUTS:
        raise BadRequest(
            ErrorCode.RENDER_TOO_LARGE, f"The render reads {input_count} inputs, at most {settings.RENDER_MAX_INPUTS}"
        )

    spec = {
        "config": config_document,
        "inputs": {
            key: {"name": f"in-{key}" if item.local_path else None, "storage_key": item.storage_key}
            for key, item in accepted.items()
        },
        "stems": stems,
        "subtitles": "in-subtitles.ass" if subtitles_path else None,
        "input_id": input_id or None,
        "duration_ms": dry_run.duration_ms,
        "output_kind": config.output_kind,
    }
    identity = SubmitIdentity.of_request(
        kind=JobKind.RENDER, header=idempotency_header, config=config_document, parts=digests, input_id=input_id or None
    )

    def attach_inputs(job: Job) -> None:
        # Stored with the row: if storing fails, no job exists and the partial files are removed.
        try:
            for key, item in accepted.items():
                if item.local_path:
                    storage_save_file(key=job_file_key(job.public_id, f"in-{key}"), local_path=item.local_path)
            if subtitles_path:
                storage_save_file(key=job_file_key(job.public_id, "in-subtitles.ass"), local_path=subtitles_path)
        except Exception:
            storage_delete_prefix(f"jobs/{job.public_id}/")
            raise

    return job_submit(
        owner=owner,
        identity=identity,
        spec=spec,
        first_stage=RENDER_STAGE,
        expires_at=timezone.now() + timedelta(seconds=settings.RENDER_OUTPUT_TTL_SEC),
        progress_reason=QUEUED_REASON,
        attach=attach_inputs,
    )


def _add_cached_inputs(accepted: dict[str, _AcceptedInput], *, config: RenderConfig, entry: RenderInput) -> None:
    """With an inputId the phone sends no video/audio parts, yet segments still name `video_<order>`:
    the cached video stands for every VIDEO segment key (and the legacy `video`) not sent inline, and
    cached audios fill the `audio_<i>` keys not sent inline (inline parts win)."""
    video = entry.files["video"]
    cached_video = _AcceptedInput(media=media_from_json(video["media"]), storage_key=video["storage_key"])
    if config.segments:
        video_keys = [segment.source_file_key for segment in config.segments if segment.type == "VIDEO"]
    else:
        video_keys = [] if accepted.keys() & {"video", "video_0"} else ["video"]
    for key in video_keys:
        accepted.setdefault(key, cached_video)
    for key, item in entry.files.items():
        if key != "video":
            accepted.setdefault(
                key, _AcceptedInput(media=media_from_json(item["media"]), storage_key=item["storage_key"])
            )


def _resolve_stems(*, config: RenderConfig, owner) -> dict[str, str]:
    """Each selected stem's storage key by stem_input_key(); its URL is only parsed and its token
    re-checked, never fetched."""
    stems = {}
    for d_index, directive in enumerate(config.separation_directives):
        for s_index, selection in enumerate(directive.selections):
            stems[stem_input_key(d_index, s_index)] = stem_storage_key_from_url(selection.audio_url, owner)
    return stems


_ROLE_MESSAGES = {
    "segment_video": "Video file missing for key: {}",
    "segment_image": "Segment image not found: {}",
    "sticker": "Image file missing for key: {}",
    "dub": "Audio file missing for key: {}",
    "bgm": "BGM audio file missing for key: {}",
    "audio_override": "audio_override file missing for key: {}",
}


def _check_referenced_keys(config: RenderConfig, accepted: Mapping[str, _AcceptedInput]) -> None:
    for key, role in config.referenced_file_keys().items():
        if key not in accepted:
            raise BadRequest(ErrorCode.MISSING_FILE_PART, _ROLE_MESSAGES[role].format(key))
    if config.is_legacy and not accepted.keys() & {"video", "video_0"}:
        raise BadRequest(ErrorCode.VIDEO_REQUIRED, "No video file provided (send `video`, `video_0` or `segments`)")


# --- running a render (render hosts) ----------------------------------------------------------------------


def render_timeout_sec(duration_ms: int) -> float:
    scaled = settings.RENDER_TIMEOUT_BASE_SEC + duration_ms / 1000 * settings.RENDER_TIMEOUT_PER_OUTPUT_SEC
    return min(scaled, STAGE_SOFT_TIME_LIMIT_SEC - 300)


@contextmanager
def render_slot(*, on_wait: Callable[[], None], poll_sec: float = 1.0) -> Iterator[int]:
    """One of RENDER_MAX_CONCURRENT slots of this host (flock'ed files, so every worker process and
    thread on the host shares them and a dead process frees its slot). Calls on_wait() while full."""
    directory = Path(settings.RENDER_WORK_DIR) / "slots"
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(settings.RENDER_MAX_CONCURRENT):
            handle = open(directory / f"slot-{index}.lock", "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        on_wait()
        time.sleep(poll_sec)


class _Heartbeat:
    """Throttled job heartbeats from ffmpeg's progress; reports cancellation (JobLost) as a stop."""

    def __init__(self, job: Job):
        self.job = job
        self.percent = 0
        self.last_beat = 0.0
        self.lost = False

    def beat(self, *, progress_reason: str | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_beat < HEARTBEAT_EVERY_SEC:
            return
        self.last_beat = now
        job_heartbeat(job=self.job, progress=self.percent, progress_reason=progress_reason)

    def on_progress(self, percent: int) -> None:
        self.percent = max(self.percent, min(99, percent))

    def should_cancel(self) -> bool:
        chaos_point("render")
        try:
            self.beat()
        except JobLost:
            self.lost = True
        return self.lost


def render_run(*, job: Job) -> None:
    """The `render` stage: waits for a slot of this host, renders in one ffmpeg pass, stores the
    output, and completes the job. Temp files go in every outcome; a cancel kills ffmpeg."""
    heartbeat = _Heartbeat(job)
    with render_slot(on_wait=lambda: heartbeat.beat(progress_reason=QUEUED_REASON)):
        heartbeat.beat(progress_reason="rendering", force=True)
        # A run of this job on a worker that was killed left its scratch folder; that run is fenced
        # off (its lease expired and the stage was re-dispatched), so its files are garbage.
        for stale_dir in Path(_work_root()).glob(f"{job.public_id}-*"):
            shutil.rmtree(stale_dir, ignore_errors=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"{job.public_id}-", dir=_work_root()))
        try:
            render_started = time.monotonic()
            output_path, duration_ms = _render_in(job=job, work_dir=work_dir, heartbeat=heartbeat)
            render_speed_observe(
                output_kind=job.spec.get("output_kind", "video"),
                output_sec=duration_ms / 1000,
                wall_sec=time.monotonic() - render_started,
            )
            output_key = storage_save_file(
                key=job_file_key(job.public_id, f"output{output_path.suffix}"), local_path=output_path
            )
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    job_succeed(
        job=job,
        result_updates={
            RESULT_OUTPUT_KEY: output_key,
            RESULT_OUTPUT_KIND: job.spec.get("output_kind", "video"),
            RESULT_DURATION_MS: duration_ms,
            "size_bytes": storage_size(output_key),
        },
    )
    job_touch_expiry(job=job, ttl_sec=settings.RENDER_OUTPUT_TTL_SEC)
    _delete_job_inputs(job)


def graph_to_script(arguments: list[str], *, work_dir: Path) -> list[str]:
    """The arguments with the filter graph in a file (-filter_complex_script): a big render's graph
    would exceed the kernel's limit for one command-line argument (128 KiB on Linux)."""
    if "-filter_complex" not in arguments:
        return list(arguments)
    at = arguments.index("-filter_complex")
    script = work_dir / "filter_graph.txt"
    script.write_text(arguments[at + 1])
    return [*arguments[:at], "-filter_complex_script", str(script), *arguments[at + 2 :]]


def _work_root() -> str:
    root = Path(settings.RENDER_WORK_DIR) / "jobs"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def _stored_key(job: Job, entry: Mapping) -> str:
    return entry.get("storage_key") or job_file_key(job.public_id, entry["name"])


def _render_in(*, job: Job, work_dir: Path, heartbeat: _Heartbeat) -> tuple[Path, int]:
    config = render_config_from_dict(job.spec["config"])
    sources = {key: _stored_key(job, entry) for key, entry in job.spec["inputs"].items()}
    sources.update(job.spec.get("stems", {}))
    subtitles_name = job.spec.get("subtitles")
    with ExitStack() as stack:
        inputs: dict[str, PlanInput] = {}
        for key, storage_key in sources.items():
            if not default_storage.exists(storage_key):
                raise JobFailure(ErrorCode.INPUT_MISSING, f"Input {key} is no longer stored (expired or deleted)")
            local_path = stack.enter_context(local_copy(storage_key))
            try:
                inputs[key] = PlanInput(path=str(Path(local_path).resolve()), media=probe(local_path))
            except FfmpegError as exc:
                raise JobFailure(ErrorCode.INPUT_UNREADABLE, f"Input {key} could not be read: {exc}")
            heartbeat.beat()
        subtitles_path = None
        if subtitles_name:
            # Copied to a fixed, plain name: the filter argument never carries a stored name.
            subtitles_path = work_dir / "subtitles.ass"
            with local_copy(job_file_key(job.public_id, subtitles_name)) as stored_subtitles:
                shutil.copyfile(stored_subtitles, subtitles_path)
        output_path = work_dir / ("output.m4a" if config.output_kind == "audio" else "output.mp4")
        try:
            plan = render_plan(
                config=config,
                inputs=inputs,
                output_path=str(output_path),
                subtitles_path=str(subtitles_path) if subtitles_path else None,
            )
        except PlanError as exc:
            raise JobFailure(exc.code, exc.detail)
        logger.info(
            "render %s: %d ms of %s, ffmpeg %s", job.public_id, plan.duration_ms, plan.output_kind, plan.arguments
        )
        try:
            run_ffmpeg(
                graph_to_script(plan.arguments, work_dir=work_dir),
                timeout=render_timeout_sec(plan.duration_ms),
                expected_duration_ms=plan.duration_ms,
                on_progress=heartbeat.on_progress,
                should_cancel=heartbeat.should_cancel,
            )
        except FfmpegCancelled as exc:
            raise JobLost(job.public_id) from exc
        except FfmpegTimeout as exc:
            raise JobFailure(ErrorCode.RENDER_TIMEOUT, f"{exc}\n{exc.stderr_tail}".strip())
        except FfmpegError as exc:
            raise JobFailure(ErrorCode.RENDER_FAILED, f"{exc}\n{exc.stderr_tail}".strip())
    if not output_path.exists() or output_path.stat().st_size == 0:
        raise JobFailure(ErrorCode.RENDER_FAILED, "ffmpeg wrote no output")
    return output_path, plan.duration_ms


def _delete_job_inputs(job: Job) -> None:
    """A finished render keeps only its output; cached inputs (input cache, stems) are not the job's."""
    for entry in job.spec.get("inputs", {}).values():
        if entry.get("name"):
            default_storage.delete(job_file_key(job.public_id, entry["name"]))
    if job.spec.get("subtitles"):
        default_storage.delete(job_file_key(job.public_id, job.spec["subtitles"]))
