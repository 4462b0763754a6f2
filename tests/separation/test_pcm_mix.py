"""voice_all without ffmpeg: 16-bit PCM WAVs of one format are summed in Python, sample for sample
what the ffmpeg amix graph writes (lengths that differ, sums that clip, more than two inputs, mono);
anything else still goes through ffmpeg."""

import subprocess
import wave
from pathlib import Path

import pytest

from apps.media import pcm_mix
from apps.media.pcm_mix import pcm_wavs_sum
from apps.separation import mix
from apps.separation.mix import speakers_mix


def ffmpeg_make(target: Path, source: str, *arguments: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *arguments, str(target)],
        check=True,
        timeout=60,
    )
    return target


def ffmpeg_sum(paths: list[Path], target: Path, monkeypatch) -> Path:
    with monkeypatch.context() as patched:
        patched.setattr(mix, "pcm_wavs_sum", lambda **_: False)
        speakers_mix(speaker_paths=paths, target=target)
    return target


def wav_content(path: Path) -> tuple[tuple[int, int, int, int], bytes]:
    with wave.open(str(path), "rb") as reader:
        return (
            (reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), reader.getnframes()),
            reader.readframes(reader.getnframes()),
        )


@pytest.fixture
def media(tmp_path):
    return {
        "speech": ffmpeg_make(tmp_path / "speech.wav", "sine=f=440:d=6", "-ac", "2", "-ar", "44100"),
        "loud": ffmpeg_make(tmp_path / "loud.wav", "sine=f=220:d=6", "-af", "volume=12", "-ac", "2", "-ar", "44100"),
        "noise": ffmpeg_make(
            tmp_path / "noise.wav", "anoisesrc=d=4.3:c=pink:a=0.9:r=44100", "-ac", "2", "-c:a", "pcm_s16le"
        ),
        "short": ffmpeg_make(tmp_path / "short.wav", "sine=f=300:d=1.25", "-ac", "2", "-ar", "44100"),
        "mono_a": ffmpeg_make(tmp_path / "mono_a.wav", "sine=f=500:d=2", "-ar", "16000"),
        "mono_b": ffmpeg_make(tmp_path / "mono_b.wav", "anoisesrc=d=2.5:a=0.95:r=16000", "-c:a", "pcm_s16le"),
    }


@pytest.mark.parametrize(
    "names",
    [
        ["speech", "short"],  # the second ends first: padded with silence
        ["loud", "noise"],  # sums past 32767 and below -32768: clipped
        ["short", "loud", "noise", "speech"],
        ["mono_a", "mono_b"],
    ],
)
def test_the_python_sum_is_the_ffmpeg_mix_sample_for_sample(tmp_path, monkeypatch, media, names):
    paths = [media[name] for name in names]
    monkeypatch.setattr(pcm_mix, "FRAMES_PER_BLOCK", 10_000)  # several blocks, the last one partial
    assert pcm_wavs_sum(paths=paths, target=tmp_path / "python.wav")
    expected = wav_content(ffmpeg_sum(paths, tmp_path / "ffmpeg.wav", monkeypatch))
    assert wav_content(tmp_path / "python.wav") == expected


def test_the_clipping_sums_are_really_clipped(tmp_path, media):
    assert pcm_wavs_sum(paths=[media["loud"], media["noise"]], target=tmp_path / "python.wav")
    _, frames = wav_content(tmp_path / "python.wav")
    samples = memoryview(frames).cast("h")
    assert min(samples) == -32768 and max(samples) == 32767


def test_other_wavs_are_left_to_ffmpeg(tmp_path, monkeypatch, media):
    deep = ffmpeg_make(tmp_path / "deep.wav", "sine=d=2", "-ac", "2", "-ar", "44100", "-c:a", "pcm_s24le")
    other_rate = ffmpeg_make(tmp_path / "rate.wav", "sine=d=2", "-ac", "2", "-ar", "48000")
    not_wav = ffmpeg_make(tmp_path / "tone.mp3", "sine=d=2")
    for odd in (deep, other_rate, not_wav):
        target = tmp_path / "python.wav"
        assert not pcm_wavs_sum(paths=[media["speech"], odd], target=target)
        assert not target.exists()
    ran = []
    monkeypatch.setattr(mix, "run_ffmpeg", lambda arguments, **_: ran.append(arguments))
    speakers_mix(speaker_paths=[media["speech"], other_rate], target=tmp_path / "mixed.wav")
    assert len(ran) == 1
