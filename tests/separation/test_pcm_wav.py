"""16-bit PCM WAVs without ffmpeg, sample for sample what ffmpeg writes: voice_all summed in Python
(lengths that differ, sums that clip, more than two inputs, mono), and a PCM WAV source cut to its
trim window in Python (the same frames, the same probe facts, the comment the simulator reads);
anything else still goes through ffmpeg."""

import struct
import subprocess
import wave
from pathlib import Path

import pytest

from apps.media import ffmpeg, pcm_wav
from apps.media.ffmpeg import probe, wav_header_info
from apps.media.pcm_wav import pcm_wav_cut, pcm_wavs_sum
from apps.media.timeline import TimeRange
from apps.media.wav_layout import MAX_READ_CHUNK_BYTES, wav_layout
from apps.separation import mix, trim
from apps.separation.mix import speakers_mix
from apps.separation.trim import cut_audio_to_wav
from apps.simulators.perso.media import probe_media


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
    monkeypatch.setattr(pcm_wav, "FRAMES_PER_BLOCK", 10_000)  # several blocks, the last one partial
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


def ffmpeg_cut(source: Path, target: Path, window: TimeRange | None, monkeypatch) -> Path:
    with monkeypatch.context() as patched:
        patched.setattr(trim, "pcm_wav_cut", lambda **_: False)
        cut_audio_to_wav(source=source, target=target, window=window)
    return target


@pytest.mark.parametrize(
    ("source_arguments", "windows"),
    [
        (  # the benchmark's shape: mono 44.1 kHz, a comment naming the sentences
            ["-ar", "44100", "-metadata", "comment=first line|[2] second line"],
            [(0, 6000), (0, 6003), (2331, 2956), (2955, 4400), (1, 501), (6500, 7000), (6800, 7400), None],
        ),
        (["-ar", "48000", "-ac", "2", "-metadata", "title=tone"], [(0, 6000), (1234, 5678), (999, 1500), None]),
        (["-ar", "22050"], [(17, 4018), (3333, 3834), (0, 7000)]),
        (["-ar", "16000", "-ac", "2"], [(5, 6005), (4321, 6999)]),
    ],
)
def test_a_pcm_wav_is_cut_in_python_to_the_frames_ffmpeg_cuts(tmp_path, monkeypatch, source_arguments, windows):
    source = ffmpeg_make(tmp_path / "source.wav", "anoisesrc=d=7:a=0.5", *source_arguments, "-c:a", "pcm_s16le")
    for bounds in windows:
        window = TimeRange(start_ms=bounds[0], end_ms=bounds[1]) if bounds else None
        python_cut = tmp_path / "python.wav"
        assert pcm_wav_cut(
            source=source,
            target=python_cut,
            start_ms=window.start_ms if window else None,
            duration_ms=window.duration_ms if window else None,
        )
        ffmpeg_cut_path = ffmpeg_cut(source, tmp_path / "ffmpeg.wav", window, monkeypatch)
        assert wav_content(python_cut) == wav_content(ffmpeg_cut_path), bounds
        assert probe(python_cut) == probe(ffmpeg_cut_path)
        assert probe_media(python_cut) == probe_media(ffmpeg_cut_path)  # the simulator reads the comment


def test_other_sources_are_cut_by_ffmpeg(tmp_path, monkeypatch):
    sources = [
        ffmpeg_make(tmp_path / "deep.wav", "sine=d=3", "-c:a", "pcm_s24le"),
        ffmpeg_make(tmp_path / "six.wav", "sine=d=3", "-ac", "6", "-c:a", "pcm_s16le"),  # WAVE_FORMAT_EXTENSIBLE
        ffmpeg_make(tmp_path / "tone.mp3", "sine=d=3"),
        ffmpeg_make(tmp_path / "tone.m4a", "sine=d=3"),
    ]
    short = ffmpeg_make(tmp_path / "short.wav", "sine=d=1", "-c:a", "pcm_s16le")
    for source in sources:
        assert not pcm_wav_cut(source=source, target=tmp_path / "python.wav", start_ms=0, duration_ms=1000)
    assert not pcm_wav_cut(source=short, target=tmp_path / "python.wav", start_ms=1500, duration_ms=1000)
    assert not (tmp_path / "python.wav").exists()
    ran = []
    monkeypatch.setattr(trim, "run_ffmpeg", lambda arguments, **_: ran.append(arguments))
    for source in [*sources, short]:
        cut_audio_to_wav(source=source, target=tmp_path / "cut.wav", window=TimeRange(start_ms=0, end_ms=900))
    assert len(ran) == len(sources)


def with_chunks_before_format(source: Path, target: Path, chunks: list[bytes]) -> Path:
    body = source.read_bytes()[12:]
    riff_size = 4 + sum(map(len, chunks)) + len(body)
    target.write_bytes(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"".join(chunks) + body)
    return target


def ffprobe_facts(path: Path, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(ffmpeg, "wav_header_info", lambda _path: None)
        return probe(path)


def test_the_probe_and_the_cut_each_take_what_they_can_of_one_header(tmp_path, monkeypatch):
    source = ffmpeg_make(tmp_path / "source.wav", "sine=d=2", "-ar", "16000", "-c:a", "pcm_s16le")
    junk = with_chunks_before_format(source, tmp_path / "junk.wav", [b"JUNK" + struct.pack("<I", 3) + b"abc\0"])
    fact = b"fact" + struct.pack("<I", 4) + b"\0" * 4
    many = with_chunks_before_format(source, tmp_path / "many.wav", [fact] * 40)
    # A chunk the cut would not copy: the probe still reads the header, the cut leaves it to ffmpeg.
    assert wav_header_info(junk) == ffprobe_facts(junk, monkeypatch)
    assert not pcm_wav_cut(source=junk, target=tmp_path / "python.wav", start_ms=0, duration_ms=1000)
    # More chunks than a header is walked for: both leave it to ffmpeg.
    assert wav_header_info(many) is None
    assert probe(many) == ffprobe_facts(source, monkeypatch)
    assert not pcm_wav_cut(source=many, target=tmp_path / "python.wav", start_ms=0, duration_ms=1000)
    assert not (tmp_path / "python.wav").exists()


def test_a_header_chunk_too_big_to_read_is_left_to_ffmpeg(tmp_path, monkeypatch):
    source = ffmpeg_make(tmp_path / "source.wav", "sine=d=2", "-ar", "16000", "-c:a", "pcm_s16le")
    body = b"INFO" + b"ICMT" + struct.pack("<I", MAX_READ_CHUNK_BYTES) + b"x" * MAX_READ_CHUNK_BYTES
    huge_info = with_chunks_before_format(
        source, tmp_path / "huge.wav", [b"LIST" + struct.pack("<I", len(body)) + body]
    )
    assert wav_layout(huge_info) is None
    assert probe(huge_info) == ffprobe_facts(source, monkeypatch)
    assert not pcm_wav_cut(source=huge_info, target=tmp_path / "python.wav", start_ms=0, duration_ms=1000)
