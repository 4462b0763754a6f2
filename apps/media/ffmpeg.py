"""Running ffmpeg and ffprobe: binary resolution, probing, and a runner with timeouts and progress.

Binary resolution: the FFMPEG_BINARY / FFPROBE_BINARY settings → `ffmpeg`/`ffprobe` on PATH →
the static build shipped in the imageio-ffmpeg wheel (no root needed). That wheel has no
ffprobe, so probing falls back to parsing `ffmpeg -i` when ffprobe cannot be found.
"""

import ctypes
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from apps.media.wav_layout import WAVE_FORMAT_FLOAT, WAVE_FORMAT_PCM, wav_layout

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 40


class FfmpegError(Exception):
    """ffmpeg or ffprobe failed; `stderr_tail` holds the last lines it printed."""

    def __init__(self, message: str, *, stderr_tail: str = "", returncode: int | None = None):
        self.stderr_tail = stderr_tail
        self.returncode = returncode
        super().__init__(message)


class FfmpegTimeout(FfmpegError):
    pass


class FfmpegCancelled(FfmpegError):
    pass


@lru_cache(maxsize=4)
def _resolve(configured: str, name: str) -> str | None:
    if configured:
        return configured
    on_path = shutil.which(name)
    if on_path:
        return on_path
    if name == "ffmpeg":
        try:
            import imageio_ffmpeg

            return imageio_ffmpeg.get_ffmpeg_exe()
        except (ImportError, RuntimeError):
            return None
    return None


def ffmpeg_binary() -> str:
    binary = _resolve(settings.FFMPEG_BINARY, "ffmpeg")
    if not binary:
        raise FfmpegError("ffmpeg not found: set FFMPEG_BINARY, install ffmpeg, or install imageio-ffmpeg")
    return binary


def ffprobe_binary() -> str | None:
    return _resolve(settings.FFPROBE_BINARY, "ffprobe")


@dataclass(frozen=True)
class StreamInfo:
    codec_type: str
    codec_name: str
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    duration_ms: int
    format_name: str
    streams: tuple[StreamInfo, ...] = field(default_factory=tuple)

    @property
    def has_video(self) -> bool:
        # Cover art in an mp3 shows up as a one-frame mjpeg/png "video" stream; it is not video.
        return any(s.codec_type == "video" and s.codec_name not in ("mjpeg", "png", "bmp") for s in self.streams)

    @property
    def has_audio(self) -> bool:
        return any(s.codec_type == "audio" for s in self.streams)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.codec_type == "video"), None)


class NotMedia(FfmpegError):
    """The file is not something ffprobe can read as audio or video."""


def probe(path: str | Path, *, timeout: float = 60.0) -> MediaInfo:
    """Probes a file; raises NotMedia when it holds no readable audio or video stream. A plain PCM WAV
    (what our own cuts, mixes and the stems are) is read from its header, as ffprobe would report it."""
    wav_info = wav_header_info(Path(path))
    if wav_info is not None:
        return wav_info
    ffprobe = ffprobe_binary()
    if ffprobe is None:
        return _probe_with_ffmpeg(Path(path), timeout=timeout)
    command = [
        ffprobe,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(path),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FfmpegTimeout(f"ffprobe timed out after {timeout:.0f}s") from exc
    if completed.returncode != 0:
        raise NotMedia("not a readable media file", stderr_tail=_tail(completed.stderr.decode(errors="replace")))
    try:
        document = json.loads(completed.stdout or b"{}")
    except json.JSONDecodeError as exc:
        raise NotMedia("ffprobe printed no JSON") from exc
    streams = tuple(
        StreamInfo(
            codec_type=s.get("codec_type", ""),
            codec_name=s.get("codec_name", ""),
            width=s.get("width"),
            height=s.get("height"),
            sample_rate=int(s["sample_rate"]) if s.get("sample_rate") else None,
            channels=s.get("channels"),
        )
        for s in document.get("streams", [])
        if s.get("codec_type") in ("audio", "video")
    )
    format_info = document.get("format", {})
    if not streams:
        raise NotMedia("no audio or video stream")
    duration = format_info.get("duration")
    if duration in (None, "N/A"):
        stream_durations = [
            float(s["duration"]) for s in document.get("streams", []) if s.get("duration") not in (None, "N/A")
        ]
        duration = max(stream_durations) if stream_durations else 0.0
    return MediaInfo(
        duration_ms=int(float(duration) * 1000), format_name=format_info.get("format_name", ""), streams=streams
    )


_PCM_CODECS = {
    (WAVE_FORMAT_PCM, 8): "pcm_u8",
    (WAVE_FORMAT_PCM, 16): "pcm_s16le",
    (WAVE_FORMAT_PCM, 24): "pcm_s24le",
    (WAVE_FORMAT_PCM, 32): "pcm_s32le",
    (WAVE_FORMAT_FLOAT, 32): "pcm_f32le",
    (WAVE_FORMAT_FLOAT, 64): "pcm_f64le",
}


def wav_header_info(path: Path) -> MediaInfo | None:
    """ffprobe's facts of a well-formed PCM WAV, read from its RIFF header without a subprocess; None
    for anything else (other formats, streamed or truncated WAVs, compressed WAV codecs), which
    then goes to ffprobe."""
    layout = wav_layout(path)
    if layout is None:
        return None
    fmt = layout.format_chunk
    codec = _PCM_CODECS.get((fmt.codec_tag, fmt.bits_per_sample))
    if (
        codec is None
        or fmt.channels < 1
        or fmt.sample_rate < 1
        or fmt.block_align != fmt.channels * fmt.bits_per_sample // 8
    ):
        return None
    if layout.data_size == 0 or layout.data_size % fmt.block_align:
        return None
    seconds = float(f"{layout.data_size // fmt.block_align / fmt.sample_rate:.6f}")  # ffprobe prints microseconds
    stream = StreamInfo(codec_type="audio", codec_name=codec, sample_rate=fmt.sample_rate, channels=fmt.channels)
    return MediaInfo(duration_ms=int(seconds * 1000), format_name="wav", streams=(stream,))


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Audio|Video): (\w+)(?:.*?, (\d+)x(\d+))?")


def _probe_with_ffmpeg(path: Path, *, timeout: float) -> MediaInfo:
    completed = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", str(path)], capture_output=True, timeout=timeout, check=False
    )
    text = completed.stderr.decode(errors="replace")
    streams = tuple(
        StreamInfo(
            codec_type=kind.lower(),
            codec_name=codec,
            width=int(width) if width else None,
            height=int(height) if height else None,
        )
        for kind, codec, width, height in _STREAM.findall(text)
    )
    duration = _DURATION.search(text)
    if not streams or not duration:
        raise NotMedia("not a readable media file", stderr_tail=_tail(text))
    hours, minutes, seconds = duration.groups()
    duration_ms = int((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    return MediaInfo(duration_ms=duration_ms, format_name="", streams=streams)


def seconds_arg(milliseconds: float) -> str:
    """A time argument for ffmpeg: fixed-point seconds, never scientific notation (`1e-05`)."""
    return f"{max(0.0, milliseconds) / 1000:.6f}"


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec hook (Linux) that makes the child get SIGKILL when the thread that started it dies.

    ffmpeg runs in its own process group (so a timeout or cancel kills all of it) and ignores
    SIGPIPE, so without this a worker killed with SIGKILL leaves its ffmpeg running to the end,
    writing into a scratch folder nobody reads. The libc function is resolved here, before any
    fork, so the hook itself only makes two system calls in the child."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent_pid = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the death signal was armed
            os._exit(1)

    return hook


def run_ffmpeg(
    arguments: Sequence[str],
    *,
    timeout: float,
    expected_duration_ms: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    check_interval: float = 1.0,
) -> None:
    """Runs `ffmpeg <arguments>` (an argument list, never a shell) in its own process group.

    With `expected_duration_ms` and `on_progress`, `-progress pipe:1` output is turned into a
    0–99 percentage. stdout and stderr are drained concurrently (a full pipe would deadlock).
    On timeout or when `should_cancel()` turns true the whole process group is killed; if the calling
    process dies, ffmpeg is killed with it (Linux: the parent-death signal).
    """
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-y"]
    if on_progress is not None:
        command += ["-progress", "pipe:1", "-nostats"]
    command += list(arguments)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent_hook(),
    )
    stderr_lines: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    last_percent = [-1]
    stderr, stdout = process.stderr, process.stdout
    assert stderr is not None and stdout is not None  # both are pipes (stdout=PIPE, stderr=PIPE)

    def drain_stderr() -> None:
        for raw in iter(stderr.readline, b""):
            stderr_lines.append(raw.decode(errors="replace").rstrip())

    def drain_stdout() -> None:
        for raw in iter(stdout.readline, b""):
            line = raw.decode(errors="replace").strip()
            if on_progress and expected_duration_ms and line.startswith("out_time_us="):
                value = line.partition("=")[2]
                if value.isdigit():
                    percent = min(99, int(int(value) / 1000 / expected_duration_ms * 100))
                    if percent > last_percent[0]:
                        last_percent[0] = percent
                        on_progress(percent)

    readers = [threading.Thread(target=drain_stderr, daemon=True), threading.Thread(target=drain_stdout, daemon=True)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                process.wait(timeout=check_interval)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                _kill_group(process)
                raise FfmpegTimeout(f"ffmpeg timed out after {timeout:.0f}s", stderr_tail="\n".join(stderr_lines))
            if should_cancel is not None and should_cancel():
                _kill_group(process)
                raise FfmpegCancelled("ffmpeg cancelled", stderr_tail="\n".join(stderr_lines))
    except BaseException:
        _kill_group(process)
        raise
    finally:
        for reader in readers:
            reader.join(timeout=5)
    if process.returncode != 0:
        raise FfmpegError(
            f"ffmpeg exited with code {process.returncode}",
            stderr_tail="\n".join(stderr_lines),
            returncode=process.returncode,
        )


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
