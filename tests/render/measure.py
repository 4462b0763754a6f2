"""Measurements of render outputs with ffprobe/ffmpeg: streams, audio level in a window, pixels."""

import json
import re
import subprocess
from pathlib import Path


def run(command: list[str]) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return completed.stderr + completed.stdout


def probe_streams(path: Path) -> dict:
    """{'video': {...}, 'audio': {...}, 'duration': seconds} of an output file."""
    text = run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)])
    document = json.loads(text)
    streams = {s["codec_type"]: s for s in document["streams"]}
    # The picture's length (the audio track of an mp4 ends on a whole AAC frame, up to 21 ms later).
    timed = streams.get("video") or streams.get("audio")
    streams["duration"] = float(timed.get("duration") or document["format"]["duration"])
    return streams


def mean_volume_db(path: Path, *, start: float, seconds: float) -> float:
    """ffmpeg volumedetect's mean volume over a window (dB; -91 for digital silence)."""
    text = run(["ffmpeg", "-hide_banner", "-nostats", "-ss", f"{start:.3f}", "-t", f"{seconds:.3f}", "-i", str(path),
                "-vn", "-af", "volumedetect", "-f", "null", "-"])  # fmt: skip
    match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", text)
    assert match, text
    return -120.0 if match.group(1) == "-inf" else float(match.group(1))


def pixel_rgb(path: Path, *, at: float, x: int, y: int) -> tuple[int, int, int]:
    """The RGB colour of one pixel of the frame shown at `at` seconds."""
    completed = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(path), "-frames:v", "1",
         "-vf", f"format=rgb24,crop=1:1:{x}:{y}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    data = completed.stdout
    assert len(data) == 3, completed.stderr
    return data[0], data[1], data[2]


def count_pixels(path: Path, *, at: float, predicate) -> int:
    completed = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    data = completed.stdout
    return sum(1 for i in range(0, len(data), 3) if predicate(data[i], data[i + 1], data[i + 2]))
