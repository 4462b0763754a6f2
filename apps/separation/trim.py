"""Trim windows of a separation source: validation in the contract's order, probing, and the
sample-accurate cut to PCM WAV that Perso separates reliably (FLAC made it fail silently)."""

from pathlib import Path

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, BadRequest
from apps.media.ffmpeg import FfmpegError, MediaInfo, NotMedia, probe, run_ffmpeg, seconds_arg
from apps.media.pcm_wav import pcm_wav_cut
from apps.media.timeline import TimeRange

MIN_TRIM_WINDOW_MS = 500
# The phone measures durations with AVAsset/MediaMetadataRetriever, we with ffprobe; they differ by milliseconds.
TRIM_END_TOLERANCE_MS = 100
PROBE_TIMEOUT_SEC = 30.0
CUT_TIMEOUT_SEC = 600.0


class FfmpegFailure(ApiError, status_code=500, code=ErrorCode.FFMPEG_ERROR): ...


class UnsupportedMedia(BadRequest, code=ErrorCode.UNSUPPORTED_MEDIA): ...


def trim_bounds_check(*, trim_start_ms: int | None, trim_end_ms: int | None) -> TimeRange | None:
    """The checks that need no media, in the contract's order; None when no trim was asked."""
    if trim_start_ms is None and trim_end_ms is None:
        return None
    if trim_start_ms is None or trim_end_ms is None:
        raise BadRequest(ErrorCode.PARTIAL_TRIM_RANGE, "trimStartMs and trimEndMs must be given together")
    if trim_start_ms < 0:
        raise BadRequest(ErrorCode.TRIM_START_NEGATIVE, f"trimStartMs must be >= 0 (got {trim_start_ms})")
    if trim_end_ms <= trim_start_ms:
        raise BadRequest(
            ErrorCode.TRIM_RANGE_INVALID,
            f"trimEndMs must be greater than trimStartMs (got {trim_start_ms}..{trim_end_ms})",
        )
    if trim_end_ms - trim_start_ms < MIN_TRIM_WINDOW_MS:
        raise BadRequest(
            ErrorCode.TRIM_RANGE_TOO_SHORT,
            f"The trim window must be at least {MIN_TRIM_WINDOW_MS} ms (got {trim_end_ms - trim_start_ms} ms)",
        )
    return TimeRange(start_ms=trim_start_ms, end_ms=trim_end_ms)


def trim_fit_to_duration(*, window: TimeRange | None, duration_ms: int) -> TimeRange | None:
    """Clamps an end at most 100 ms past the measured duration; further past is the client's error."""
    if window is None or window.end_ms <= duration_ms:
        return window
    if window.end_ms - duration_ms > TRIM_END_TOLERANCE_MS:
        raise BadRequest(
            ErrorCode.TRIM_END_EXCEEDS_DURATION, f"trimEndMs={window.end_ms} but file duration={duration_ms} ms"
        )
    clamped = TimeRange(start_ms=window.start_ms, end_ms=duration_ms)
    if clamped.duration_ms < MIN_TRIM_WINDOW_MS:
        raise BadRequest(
            ErrorCode.TRIM_RANGE_TOO_SHORT,
            f"The trim window must be at least {MIN_TRIM_WINDOW_MS} ms (got {clamped.duration_ms} ms after clamping "
            f"to the file duration {duration_ms} ms)",
        )
    return clamped


# Leading bytes of the containers the phone sends (mp4/mov/m4a, webm, wav, mp3, aac, ogg, flac, caf).
def looks_like_media(head: bytes) -> bool:
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return True
    if head.startswith((b"\x1a\x45\xdf\xa3", b"ID3", b"OggS", b"fLaC", b"caff", b"FORM")):
        return True
    if head.startswith(b"RIFF") and head[8:12] in (b"WAVE", b"AVI "):
        return True
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0  # MPEG audio / ADTS frame sync


def source_probe(*, path: Path) -> MediaInfo:
    """Probes a source in the request: not media → 400; media that ffprobe cannot read → 500 ffmpeg_error."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    try:
        media = probe(path, timeout=PROBE_TIMEOUT_SEC)
    except NotMedia as exc:
        if looks_like_media(head):
            raise FfmpegFailure(detail="Could not probe source duration") from exc
        raise UnsupportedMedia(detail="The file is not a readable audio or video file") from exc
    except FfmpegError as exc:
        raise FfmpegFailure(detail="Could not probe source duration") from exc
    if not media.has_audio:
        raise BadRequest(ErrorCode.NO_AUDIO_STREAM, "The file has no audio track to separate")
    if media.duration_ms <= 0:
        raise FfmpegFailure(detail="Could not probe source duration")
    return media


def cut_audio_to_wav(*, source: Path, target: Path, window: TimeRange | None, on_progress=None) -> None:
    """Audio only, PCM 16-bit WAV. The seek is on the output side so the cut is sample-accurate
    (an input-side seek with stream copy snaps to a keyframe or an AAC frame). A 16-bit PCM WAV source
    is cut in Python to the same frames, without starting ffmpeg."""
    start_ms, duration_ms = (window.start_ms, window.duration_ms) if window is not None else (None, None)
    if pcm_wav_cut(source=source, target=target, start_ms=start_ms, duration_ms=duration_ms):
        return
    arguments = ["-i", str(source), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    expected_ms = None
    if window is not None:
        arguments += ["-ss", seconds_arg(window.start_ms), "-t", seconds_arg(window.duration_ms)]
        expected_ms = window.duration_ms
    arguments += ["-avoid_negative_ts", "make_zero", "-c:a", "pcm_s16le", "-f", "wav", str(target)]
    run_ffmpeg(arguments, timeout=CUT_TIMEOUT_SEC, expected_duration_ms=expected_ms, on_progress=on_progress)


def pad_with_silence(*, source: Path, target: Path, min_duration_ms: int) -> None:
    """Trailing silence up to `min_duration_ms` (Perso refuses very short media)."""
    run_ffmpeg(
        ["-i", str(source), "-af", f"apad=whole_dur={seconds_arg(min_duration_ms)}", "-c:a", "pcm_s16le", str(target)],
        timeout=CUT_TIMEOUT_SEC,
    )


def cut_to_duration(*, source: Path, target: Path, duration_ms: int) -> None:
    """The first `duration_ms` of an audio file as PCM WAV (stems of a padded upload, cut back)."""
    run_ffmpeg(
        ["-i", str(source), "-map", "0:a:0", "-t", seconds_arg(duration_ms), "-c:a", "pcm_s16le", str(target)],
        timeout=CUT_TIMEOUT_SEC,
    )
