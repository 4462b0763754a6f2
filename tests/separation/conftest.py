"""Fixtures of the separation tests: generated two-speaker speech over a tone, and a READY separation
row built from real stem files (a factory for the mix and download tests)."""

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id
from apps.media.stems import stem_label
from tests.support.jobs import finished_job
from tests.support.media import lavfi_media


@pytest.fixture(autouse=True)
def forget_cached_token_users():
    """apps.accounts caches a token's user per process for 30 s; transactional tests recreate alice
    with a new primary key under the same Google subject, so the cache must not outlive a test.
    (Reported to the lead: this belongs in tests/conftest.py.)"""
    from apps.accounts import services as account_services

    getattr(account_services, "_user_cache", {}).clear()
    yield
    getattr(account_services, "_user_cache", {}).clear()


TONE_DB = -40  # below the simulator's -35 dB silence threshold, so speech segments are still found


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, timeout=120)


def volume_stats(path: Path) -> dict[str, float]:
    """ffmpeg volumedetect: mean_volume and max_volume in dBFS."""
    completed = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    text = completed.stderr.decode()
    return {
        name: float(re.search(rf"{name}: (-?[\d.]+|-inf) dB", text).group(1)) for name in ("mean_volume", "max_volume")
    }


def duration_ms(path: Path) -> int:
    completed = run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)])
    return int(float(json.loads(completed.stdout)["format"]["duration"]) * 1000)


@pytest.fixture
def two_speaker_audio(tmp_path, ffmpeg_tools) -> Path:
    """7 s: voice A (espeak-ng en-us) at 0.4 s, voice B (en-gb, female variant) at 3.6 s, over a
    440 Hz tone at -40 dBFS for the whole length (the background)."""
    voice_a, voice_b = tmp_path / "a.wav", tmp_path / "b.wav"
    run(["espeak-ng", "-v", "en-us", "-s", "170", "-w", str(voice_a), "Hello there, this is the first speaker."])
    run(["espeak-ng", "-v", "en-gb+f3", "-s", "170", "-w", str(voice_b), "And I am the second voice here."])
    target = tmp_path / "two-speakers.m4a"
    tone_amplitude = 10 ** (TONE_DB / 20)
    run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(voice_a),
            "-i",
            str(voice_b),
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc={tone_amplitude:.6f}*sin(2*PI*440*t):s=44100:d=7",
            "-filter_complex",
            "[0:a]aresample=44100,volume=0.5,adelay=400:all=1[a];[1:a]aresample=44100,volume=0.5,adelay=3600:all=1[b];"
            "[a][b][2:a]amix=inputs=3:duration=longest:normalize=0[out]",
            "-map",
            "[out]",
            "-t",
            "7",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(target),
        ]
    )
    return target


@pytest.fixture
def make_ready_separation(tmp_path, ffmpeg_tools):
    """A READY separation of `owner` whose stems are real WAV files in storage: speakers are tones at
    different frequencies and levels, the background a quieter tone."""

    def _make(owner, *, seconds: float = 3.0, speakers: int = 2, background: bool = True) -> Job:
        public_id = new_public_id(JobKind.SEPARATION)
        sources: dict[str, str] = {}
        for index in range(speakers):
            sources[f"speaker_{index}"] = f"aevalsrc=0.25*sin(2*PI*{300 + 200 * index}*t):s=44100"
        if background:
            sources["background"] = "aevalsrc=0.1*sin(2*PI*1000*t):s=44100"
        stems = []
        for stem_id, source in sources.items():
            local = lavfi_media(
                tmp_path / f"{public_id}-{stem_id}.wav", f"{source}:d={seconds}", options=("-c:a", "pcm_s16le")
            )
            key = storage_save_file(key=job_file_key(public_id, f"{stem_id}.wav"), local_path=local)
            stems.append(
                {"stemId": stem_id, "label": stem_label(stem_id), "storageKey": key, "durationMs": int(seconds * 1000)}
            )
        return finished_job(
            owner,
            JobKind.SEPARATION,
            public_id=public_id,
            result={"stems": stems},
            stage="stems",
            progress_reason="Completed",
            spec={"mediaType": "AUDIO"},
            expires_at=timezone.now() + timedelta(days=8),
            finished_at=timezone.now(),
        )

    return _make
