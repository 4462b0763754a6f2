"""Fixtures of the Perso tests: an isolated, fast simulator over real HTTP and speech media."""

import subprocess
from pathlib import Path

import pytest

SPEECH_SENTENCES = ["Hello and welcome to the show.", "Today we talk about rivers.", "Thank you for watching."]


@pytest.fixture
def speech_wav(tmp_path, ffmpeg_tools) -> Path:
    """About 8 s of espeak-ng speech: three sentences one second apart, the text in the comment tag."""
    ffmpeg = ffmpeg_tools[0]
    parts = []
    for index, sentence in enumerate(SPEECH_SENTENCES):
        part = tmp_path / f"part{index}.wav"
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(part), sentence], check=True, timeout=60)
        parts.append(part)
    command = [ffmpeg, "-y", "-loglevel", "error"]
    filters = []
    for index, part in enumerate(parts):
        command += ["-i", str(part)]
        filters.append(f"[{index}:a]aresample=44100,apad=pad_dur=1.2[p{index}]")
    labels = "".join(f"[p{index}]" for index in range(len(parts)))
    filters.append(f"{labels}concat=n={len(parts)}:v=0:a=1[out]")
    target = tmp_path / "speech.wav"
    command += [
        "-filter_complex",
        ";".join(filters),
        "-map",
        "[out]",
        "-metadata",
        f"comment={'|'.join(SPEECH_SENTENCES)}",
    ]
    subprocess.run([*command, str(target)], check=True, timeout=60)
    return target
