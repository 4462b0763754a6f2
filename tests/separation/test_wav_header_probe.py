"""probe() reads a plain PCM WAV from its header: the same facts ffprobe reports, and ffprobe for
anything the header reader does not vouch for (compressed WAV codecs, truncated files, other formats)."""

import subprocess
from pathlib import Path

import pytest

from apps.media import ffmpeg
from apps.media.ffmpeg import MediaInfo, probe, wav_header_info
from apps.simulators.perso.media import probe_media


def ffmpeg_make(target: Path, *arguments: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", *arguments, str(target)],
        check=True,
        timeout=60,
    )
    return target


def ffprobe_facts(path: Path, monkeypatch) -> MediaInfo:
    with monkeypatch.context() as patched:
        patched.setattr(ffmpeg, "wav_header_info", lambda _path: None)
        return probe(path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["-i", "sine=d=1.2345678", "-ar", "44100"],
        ["-i", "sine=d=3.3333", "-ar", "48000", "-ac", "2"],
        ["-i", "sine=d=2.71", "-ac", "6", "-c:a", "pcm_s16le"],  # WAVE_FORMAT_EXTENSIBLE
        ["-i", "sine=d=0.777", "-c:a", "pcm_s24le"],
        ["-i", "sine=d=5.0001", "-c:a", "pcm_f32le", "-ar", "22050"],
        ["-i", "sine=d=1.5", "-c:a", "pcm_u8", "-ar", "8000"],
        ["-i", "sine=d=1.5", "-metadata", "comment=first line|[2] second line"],
    ],
)
def test_a_pcm_wav_is_read_from_its_header_as_ffprobe_reports_it(tmp_path, monkeypatch, arguments):
    wav = ffmpeg_make(tmp_path / "tone.wav", *arguments)
    from_header = wav_header_info(wav)
    assert from_header is not None
    assert from_header == ffprobe_facts(wav, monkeypatch)


def test_other_wavs_and_formats_go_to_ffprobe(tmp_path, monkeypatch):
    compressed = ffmpeg_make(tmp_path / "adpcm.wav", "-i", "sine=d=1.5", "-c:a", "adpcm_ms")
    whole = ffmpeg_make(tmp_path / "whole.wav", "-i", "sine=d=3", "-ac", "2")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[:30000])
    mp3 = ffmpeg_make(tmp_path / "tone.mp3", "-i", "sine=d=1.5")
    for path in (compressed, truncated, mp3):
        assert wav_header_info(path) is None
        assert probe(path) == ffprobe_facts(path, monkeypatch)
    assert probe(compressed).streams[0].codec_name == "adpcm_ms"
    assert probe(truncated).duration_ms < 1000


def test_the_simulator_reads_a_wavs_comment_like_ffprobe(tmp_path, monkeypatch):
    from apps.simulators.perso import media as sim_media

    tagged = ffmpeg_make(tmp_path / "tagged.wav", "-i", "sine=d=6", "-metadata", "comment=Hello there|[2] Hi")
    with_bext = ffmpeg_make(tmp_path / "bext.wav", "-i", "sine=d=6", "-write_bext", "1", "-metadata", "description=x")
    assert probe_media(tagged)["comment"] == "Hello there|[2] Hi"
    for path in (tagged, with_bext):
        from_chunks = probe_media(path)
        with monkeypatch.context() as patched:
            patched.setattr(sim_media, "_pcm_wav_facts", lambda _path: None)
            assert from_chunks == probe_media(path)
