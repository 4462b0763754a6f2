"""Mixing audio with ffmpeg: the speakers into voice_all (separation stage), and the chosen stems
at their volumes into the mix job's mp3 (render worker), whose success disposes of the stems."""

import logging
import tempfile
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.chaos import chaos_point
from apps.core.error_codes import ErrorCode
from apps.core.errors import JobFailure, TransientFailure
from apps.core.storage import job_file_key, local_copy, storage_save_file
from apps.jobs.models import Job
from apps.jobs.services import job_heartbeat, job_succeed
from apps.media.ffmpeg import FfmpegCancelled, FfmpegError, NotMedia, probe, run_ffmpeg
from apps.media.pcm_wav import pcm_wavs_sum
from apps.media.stems import separation_stems
from apps.separation.selectors import RESULT_MIX_DURATION_MS, RESULT_MIX_OUTPUT_KEY
from apps.separation.stem_storage import separation_stems_dispose

logger = logging.getLogger(__name__)

MIX_TIMEOUT_SEC = 900.0
MIX_LIMITER = "alimiter=limit=0.95:attack=5:release=50:level=disabled:latency=enabled"


def speakers_mix(*, speaker_paths: list[Path], target: Path) -> None:
    """All speakers at their own level: amix's default normalize=1 would cost 6 dB for two speakers.
    16-bit PCM WAVs of one format (what Perso returns) are summed in Python, bit for bit the same as
    the ffmpeg graph below, without starting ffmpeg."""
    if pcm_wavs_sum(paths=speaker_paths, target=target):
        return
    arguments: list[str] = []
    for path in speaker_paths:
        arguments += ["-i", str(path)]
    labels = "".join(f"[{index}:a]" for index in range(len(speaker_paths)))
    graph = f"{labels}amix=inputs={len(speaker_paths)}:duration=longest:dropout_transition=0:normalize=0[out]"
    run_ffmpeg(
        [*arguments, "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le", str(target)],
        timeout=MIX_TIMEOUT_SEC,
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
