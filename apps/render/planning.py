"""Render planning: a pure function from `RenderConfig` + probed inputs to ONE ffmpeg invocation.

The whole render is a single filter graph (trim, speed, scale/pad, concat, ASS burn-in, sticker
overlays, dub/BGM/stem mix) encoded once, instead of the reference's encode-per-segment →
concat → re-encode. The graph is built with typed-ffmpeg (`import ffmpeg`), which does the
two-level filter-graph escaping of every value (paths in `ass=` included); client strings never
reach the graph — file keys only select inputs, and every number is formatted here in fixed point.

Timeline: the output runs at FPS frames per second and SAMPLE_RATE audio; segment boundaries are
snapped to whole frames on the cumulative timeline, so the output length is within half a frame
of the sum of the segments, and each segment's audio is cut/padded to exactly its frames.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ffmpeg
from ffmpeg.streams.audio import AudioStream
from ffmpeg.streams.video import VideoStream

from apps.core.error_codes import ErrorCode
from apps.media.ffmpeg import MediaInfo, seconds_arg
from apps.render.config import RenderConfig, Segment

FPS = 30
SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
DEFAULT_SIZE = (1920, 1080)
TRIM_END_TOLERANCE_MS = 100
LIMITER = {"limit": 0.95, "attack": 5, "release": 50}
INPUT_QUEUE_SIZE = 512


@dataclass(frozen=True)
class QualityProfile:
    crf: int
    preset: str
    audio_bitrate: str


QUALITY_PROFILES = {
    "high": QualityProfile(crf=20, preset="medium", audio_bitrate="192k"),
    "medium": QualityProfile(crf=23, preset="fast", audio_bitrate="192k"),
    "low": QualityProfile(crf=28, preset="fast", audio_bitrate="128k"),
}
AUDIO_ONLY_BITRATE = "192k"


class PlanError(Exception):
    """The config and the inputs cannot make a render (a 400 at submit, a failed job later)."""

    def __init__(self, code: ErrorCode, detail: str):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


@dataclass(frozen=True)
class PlanInput:
    """A local file the render reads, with what ffprobe found in it."""

    path: str
    media: MediaInfo


@dataclass(frozen=True)
class RenderPlan:
    arguments: list[str]  # ffmpeg arguments after the binary (no -y / -progress: run_ffmpeg adds them)
    output_kind: str  # "video" | "audio"
    duration_ms: int
    width: int | None
    height: int | None

    @property
    def output_suffix(self) -> str:
        return ".m4a" if self.output_kind == "audio" else ".mp4"


@dataclass(frozen=True)
class _Piece:
    """One segment placed on the output timeline."""

    index: int
    segment: Segment
    source: PlanInput
    trim_start_ms: int
    span_ms: int  # source time consumed (before speed)
    frames: int  # output length in frames

    @property
    def samples(self) -> int:
        return self.frames * SAMPLES_PER_FRAME

    def input(self, **options) -> ffmpeg.AVStream:
        """The piece's own ffmpeg input. typed-ffmpeg merges identical nodes, so two segments cut the
        same way from the same file would share one decoder and a `split`, which buffers the whole
        first piece's raw frames until concat reaches the second; a distinct (harmless) demuxer queue
        size per piece keeps one input per segment, as a streaming concat needs."""
        return ffmpeg.input(self.source.path, thread_queue_size=str(INPUT_QUEUE_SIZE + self.index), **options)


def stem_input_key(directive_index: int, selection_index: int) -> str:
    """The key under which a separation directive's stem file is passed in `inputs`."""
    return f"stem_{directive_index}_{selection_index}"


def legacy_video_key(inputs: Mapping[str, object]) -> str:
    return "video" if "video" in inputs else "video_0"


def number(value: float) -> str:
    """A filter argument in fixed point (Python's str() would give `1e-05`)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def atempo_factors(speed: float) -> list[float]:
    """atempo accepts 0.5..2 per instance: 4 → [2, 2], 0.25 → [0.5, 0.5], 3 → [2, 1.5]."""
    if speed <= 0:
        raise PlanError(ErrorCode.INVALID_SPEED, f"speed must be > 0 (got {speed})")
    factors: list[float] = []
    while speed > 2.0:
        factors.append(2.0)
        speed /= 2.0
    while speed < 0.5:
        factors.append(0.5)
        speed /= 0.5
    if abs(speed - 1.0) > 1e-9 or not factors:
        factors.append(speed)
    return [factor for factor in factors if abs(factor - 1.0) > 1e-9]


def render_plan(
    *,
    config: RenderConfig,
    inputs: Mapping[str, PlanInput],
    output_path: str,
    subtitles_path: str | None = None,
) -> RenderPlan:
    """The ffmpeg invocation for `config`; `inputs` maps every file key (and stem_input_key()s) to a
    probed local file. Raises PlanError when a referenced input is missing or unusable."""
    segments = _timeline_segments(config, inputs)
    pieces = _place_on_timeline(segments, inputs)
    total_frames = sum(piece.frames for piece in pieces)
    total_samples = total_frames * SAMPLES_PER_FRAME
    duration_ms = round(total_frames * 1000 / FPS)
    audio_only = config.output_kind == "audio"

    width = height = None
    if audio_only:
        base_audio = _concat_audio([_piece_audio(piece, audio_only=True) for piece in pieces])
        video = None
    else:
        width, height = _output_size(config, pieces)
        color = config.frame.ffmpeg_color if config.frame else "0x000000"
        streams: list = []
        for piece in pieces:
            streams.append(_piece_video(piece, width=width, height=height, color=color))
            streams.append(_piece_audio(piece, audio_only=False))
        if len(pieces) == 1:
            video, base_audio = streams
        else:
            joined = ffmpeg.filters.concat(*streams, n=len(pieces), v=1, a=1)
            video, base_audio = joined.video(0), joined.audio(0)
        video = _burn_in_and_overlay(video, config, inputs, subtitles_path, width=width, height=height)

    audio = _mix_audio(base_audio, config, inputs, total_samples=total_samples, duration_ms=duration_ms)
    if audio_only:
        output = ffmpeg.output(
            audio,
            filename=output_path,
            extra_options={
                "c:a": "aac",
                "b:a": AUDIO_ONLY_BITRATE,
                "ar": str(SAMPLE_RATE),
                "ac": "2",
                "movflags": "+faststart",
                "t": seconds_arg(duration_ms),
            },
        )
    else:
        assert video is not None  # set on every path that is not audio-only
        profile = QUALITY_PROFILES[config.quality]
        output = ffmpeg.output(
            video,
            audio,
            filename=output_path,
            extra_options={
                "c:v": "libx264",
                "preset": profile.preset,
                "crf": str(profile.crf),
                "pix_fmt": "yuv420p",
                "r": str(FPS),
                "c:a": "aac",
                "b:a": profile.audio_bitrate,
                "ar": str(SAMPLE_RATE),
                "ac": "2",
                "movflags": "+faststart",
                "t": seconds_arg(duration_ms),
            },
        )
    arguments = output.compile()[1:]  # drop the "ffmpeg" the library prepends
    return RenderPlan(
        arguments=arguments, output_kind=config.output_kind, duration_ms=duration_ms, width=width, height=height
    )


def _input(inputs: Mapping[str, PlanInput], key: str, used_as: str) -> PlanInput:
    found = inputs.get(key)
    if found is None:
        raise PlanError(ErrorCode.MISSING_FILE_PART, f"{used_as} file missing for key: {key}")
    return found


def _timeline_segments(config: RenderConfig, inputs: Mapping[str, PlanInput]) -> tuple[Segment, ...]:
    if config.segments:
        return config.segments
    key = legacy_video_key(inputs)
    if key not in inputs:
        raise PlanError(ErrorCode.VIDEO_REQUIRED, "No video file provided (send `video`, `video_0` or `segments`)")
    return (Segment(source_file_key=key, type="VIDEO", order=0, trim_end_ms=config.video_duration_ms or 0),)


def _place_on_timeline(segments: tuple[Segment, ...], inputs: Mapping[str, PlanInput]) -> list[_Piece]:
    resolved: list[tuple[Segment, PlanInput, int, int, float]] = []
    for segment in segments:
        if segment.type == "IMAGE":
            source = _input(inputs, segment.source_file_key, "Segment image")
            if not source.media.video:
                raise PlanError(ErrorCode.NOT_AN_IMAGE, f"{segment.source_file_key} is not an image")
            resolved.append((segment, source, 0, segment.duration_ms, float(segment.duration_ms)))
            continue
        source = _input(inputs, segment.source_file_key, "Video")
        source_ms = source.media.duration_ms
        trim_start = segment.trim_start_ms
        trim_end = segment.trim_end_ms or source_ms
        if trim_end > source_ms + TRIM_END_TOLERANCE_MS:
            raise PlanError(
                ErrorCode.TRIM_END_EXCEEDS_DURATION,
                f"segment {segment.order}: trimEndMs {trim_end} is past the source's end; durationMs={source_ms}",
            )
        trim_end = min(trim_end, source_ms)
        if trim_start >= trim_end:
            raise PlanError(
                ErrorCode.TRIM_START_EXCEEDS_DURATION,
                f"segment {segment.order}: trimStartMs {trim_start} is not before the end ({trim_end} ms)",
            )
        span = trim_end - trim_start
        resolved.append((segment, source, trim_start, span, span / segment.speed_scale))
    pieces: list[_Piece] = []
    elapsed_ms = 0.0
    boundary = 0
    for segment, source, trim_start, span, out_ms in resolved:
        elapsed_ms += out_ms
        next_boundary = round(elapsed_ms * FPS / 1000)
        frames = max(1, next_boundary - boundary)
        boundary += frames
        pieces.append(
            _Piece(
                index=len(pieces), segment=segment, source=source, trim_start_ms=trim_start, span_ms=span, frames=frames
            )
        )
    return pieces


def _even(value: float) -> int:
    return max(2, int(round(value)) // 2 * 2)


def _output_size(config: RenderConfig, pieces: list[_Piece]) -> tuple[int, int]:
    if config.frame:
        return _even(config.frame.width), _even(config.frame.height)
    first = pieces[0].segment
    if first.width and first.height:
        return _even(first.width), _even(first.height)
    for piece in pieces:
        stream = piece.source.media.video
        if stream and stream.width and stream.height:
            return _even(stream.width), _even(stream.height)
    return DEFAULT_SIZE


def _fit(stream: VideoStream, *, box_w: int, box_h: int, width: int, height: int, color: str) -> VideoStream:
    """Scales into the box keeping the aspect ratio, then letterboxes to the output frame."""
    return (
        stream.scale(w=str(box_w), h=str(box_h), force_original_aspect_ratio="decrease", force_divisible_by=2)
        .pad(width=str(width), height=str(height), x="(ow-iw)/2", y="(oh-ih)/2", color=color)
        .setsar(sar="1")
        .format(pix_fmts="yuv420p")
    )


def _exact_frames(stream: VideoStream, frames: int) -> VideoStream:
    # The last frame is held if the source runs short; then the piece is cut to its frame count.
    return stream.tpad(stop=-1, stop_mode="clone").trim(end_frame=str(frames))


def _piece_video(piece: _Piece, *, width: int, height: int, color: str) -> VideoStream:
    segment = piece.segment
    seconds = seconds_arg(piece.frames * 1000 / FPS + 1000 / FPS)
    if segment.type == "IMAGE":
        still = piece.input(t=seconds, extra_options={"loop": "1", "framerate": str(FPS)})
        box_w = _even(width * (segment.image_width_pct or 100) / 100)
        box_h = _even(height * (segment.image_height_pct or 100) / 100)
        fitted = _fit(still.video.fps(fps=str(FPS)), box_w=box_w, box_h=box_h, width=width, height=height, color=color)
        return _exact_frames(fitted, piece.frames)
    if not piece.source.media.video:
        blank = ffmpeg.sources.color(color=color, size=f"{width}x{height}", rate=str(FPS))
        return _exact_frames(blank.format(pix_fmts="yuv420p"), piece.frames)
    source = piece.input(ss=seconds_arg(piece.trim_start_ms), t=seconds_arg(piece.span_ms))
    speed = segment.speed_scale
    timed = source.video.setpts(expr="PTS-STARTPTS" if speed == 1 else f"(PTS-STARTPTS)/{number(speed)}")
    fitted = _fit(timed.fps(fps=str(FPS)), box_w=width, box_h=height, width=width, height=height, color=color)
    return _exact_frames(fitted, piece.frames)


def _silence(samples: int) -> AudioStream:
    return ffmpeg.sources.anullsrc(channel_layout="stereo", sample_rate=str(SAMPLE_RATE)).atrim(end_sample=str(samples))


def _normalised(stream: AudioStream) -> AudioStream:
    return stream.aformat(sample_fmts="fltp", sample_rates=str(SAMPLE_RATE), channel_layouts="stereo")


def _exact_samples(stream: AudioStream, samples: int) -> AudioStream:
    return stream.atrim(end_sample=str(samples)).apad(whole_len=str(samples))


def _with_tempo(stream: AudioStream, speed: float) -> AudioStream:
    for factor in atempo_factors(speed):
        stream = stream.atempo(tempo=number(factor))
    return stream


def _with_volume(stream: AudioStream, volume: float) -> AudioStream:
    return stream if volume == 1 else stream.volume(volume=number(volume))


def _piece_audio(piece: _Piece, *, audio_only: bool) -> AudioStream:
    segment = piece.segment
    if segment.type == "IMAGE" or not piece.source.media.has_audio:
        return _silence(piece.samples)
    options = {"vn": True} if audio_only else {}
    source = piece.input(ss=seconds_arg(piece.trim_start_ms), t=seconds_arg(piece.span_ms), **options)
    stream = _with_tempo(source.audio.asetpts(expr="PTS-STARTPTS"), segment.speed_scale)
    stream = _normalised(_with_volume(stream, segment.volume_scale))
    return _exact_samples(stream, piece.samples)


def _concat_audio(streams: list[AudioStream]) -> AudioStream:
    if len(streams) == 1:
        return streams[0]
    return ffmpeg.filters.concat(*streams, n=len(streams), v=0, a=1).audio(0)


def _burn_in_and_overlay(
    video: VideoStream,
    config: RenderConfig,
    inputs: Mapping[str, PlanInput],
    subtitles_path: str | None,
    *,
    width: int,
    height: int,
) -> VideoStream:
    if subtitles_path:
        video = video.ass(filename=subtitles_path)
    for clip in config.image_clips:
        image = _input(inputs, clip.image_file_key, "Image")
        if not image.media.video:
            raise PlanError(ErrorCode.NOT_AN_IMAGE, f"{clip.image_file_key} is not an image")
        sticker_w = _even(clip.width_pct / 100 * width)
        sticker_h = _even(clip.height_pct / 100 * height)
        x = round(clip.x_pct / 100 * width - sticker_w / 2)
        y = round(clip.y_pct / 100 * height - sticker_h / 2)
        sticker = ffmpeg.input(image.path).video.scale(w=str(sticker_w), h=str(sticker_h))
        video = video.overlay(
            sticker,
            x=str(x),
            y=str(y),
            enable=f"between(t,{seconds_arg(clip.start_ms)},{seconds_arg(clip.end_ms)})",
        )
    return video


def _placed_clip(
    stream: AudioStream,
    *,
    start_ms: int,
    volume: float,
    trim_start_ms: int = 0,
    trim_end_ms: int | None = None,
    speed: float = 1.0,
) -> AudioStream:
    """atrim → asetpts → atempo → adelay → volume (startMs is a position on the output timeline)."""
    trim: dict[str, Any] = {"start": seconds_arg(trim_start_ms)} if trim_start_ms else {}
    if trim_end_ms:
        trim["end"] = seconds_arg(trim_end_ms)
    if trim:
        stream = stream.atrim(**trim)
    stream = _with_tempo(stream.asetpts(expr="PTS-STARTPTS"), speed)
    stream = _normalised(stream)
    if start_ms:
        stream = stream.adelay(delays=str(start_ms), all=True)
    return _with_volume(stream, volume)


def _mix_audio(
    base: AudioStream,
    config: RenderConfig,
    inputs: Mapping[str, PlanInput],
    *,
    total_samples: int,
    duration_ms: int,
) -> AudioStream:
    if config.audio_override_key:
        override = _input(inputs, config.audio_override_key, "audio_override")
        if not override.media.has_audio:
            raise PlanError(ErrorCode.NO_AUDIO_STREAM, f"{config.audio_override_key} has no audio")
        base = _exact_samples(_normalised(ffmpeg.input(override.path, vn=True).audio), total_samples)

    mute_windows = [
        f"between(t,{seconds_arg(d.range_start_ms)},{seconds_arg(d.range_end_ms)})"
        for d in config.separation_directives
        if d.mute_original_segment_audio and d.range_start_ms < duration_ms
    ]
    if mute_windows:
        base = base.volume(volume="0", enable="+".join(mute_windows))

    layers: list[AudioStream] = []
    for dub in config.dub_clips:
        clip = _input(inputs, dub.audio_file_key, "Audio")
        _require_audio(clip, dub.audio_file_key)
        if dub.start_ms >= duration_ms:
            continue
        layers.append(
            _placed_clip(
                ffmpeg.input(clip.path, vn=True).audio,
                start_ms=dub.start_ms,
                volume=dub.volume,
                trim_end_ms=dub.duration_ms or None,
            )
        )
    for bgm in config.bgm_clips:
        clip = _input(inputs, bgm.audio_file_key, "BGM audio")
        _require_audio(clip, bgm.audio_file_key)
        if bgm.start_ms >= duration_ms:
            continue
        # Without its own end, the BGM is read only as far as the output can play it.
        audible_source_ms = round((duration_ms - bgm.start_ms) * bgm.speed)
        trim_end = bgm.source_trim_end_ms or (bgm.source_trim_start_ms + audible_source_ms)
        layers.append(
            _placed_clip(
                ffmpeg.input(clip.path, vn=True).audio,
                start_ms=bgm.start_ms,
                volume=bgm.volume,
                trim_start_ms=bgm.source_trim_start_ms,
                trim_end_ms=trim_end,
                speed=bgm.speed,
            )
        )
    for d_index, directive in enumerate(config.separation_directives):
        if directive.range_start_ms >= duration_ms:
            continue
        for s_index, selection in enumerate(directive.selections):
            stem = _input(inputs, stem_input_key(d_index, s_index), "Stem")
            _require_audio(stem, selection.stem_id or "stem")
            layers.append(
                _placed_clip(
                    ffmpeg.input(stem.path, vn=True).audio,
                    start_ms=directive.range_start_ms,
                    volume=selection.volume,
                    trim_end_ms=directive.range_end_ms - directive.range_start_ms,
                )
            )
    if not layers:
        return base
    # normalize=0: amix would otherwise scale every input by 1/N (a 6-10 dB drop); the limiter is
    # the clipping guard, with auto-level off so it never raises the level either.
    mixed = ffmpeg.filters.amix(
        base, *layers, inputs=len(layers) + 1, duration="first", dropout_transition="0", normalize=False
    )
    limiter_options: dict[str, Any] = {key: str(value) for key, value in LIMITER.items()}
    return mixed.alimiter(**limiter_options, level=False)


def _require_audio(clip: PlanInput, key: str) -> None:
    if not clip.media.has_audio:
        raise PlanError(ErrorCode.NO_AUDIO_STREAM, f"{key} has no audio stream")
