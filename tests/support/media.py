"""Media made for tests: files from ffmpeg's lavfi sources, ASS subtitle scripts."""

import subprocess
from pathlib import Path


def lavfi_media(target: Path, *sources: str, options: tuple[str, ...] = (), ffmpeg: str = "ffmpeg") -> Path:
    """Writes `target` from ffmpeg lavfi `sources` (one input each), `options` placed before the file name."""
    command = [ffmpeg, "-y", "-loglevel", "error"]
    for source in sources:
        command += ["-f", "lavfi", "-i", source]
    subprocess.run([*command, *options, str(target)], check=True, capture_output=True, timeout=120)
    return target


def lavfi_clip(target: Path, *, size: str, rate: int, seconds: float, ffmpeg: str = "ffmpeg") -> Path:
    """A video of ffmpeg's test pattern with a 440 Hz tone."""
    return lavfi_media(
        target,
        f"testsrc=size={size}:rate={rate}:duration={seconds}",
        f"sine=frequency=440:duration={seconds}",
        options=("-shortest", "-pix_fmt", "yuv420p"),
        ffmpeg=ffmpeg,
    )


ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: {width}
PlayResY: {height}

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,{style}

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def ass_script(*, width: int, height: int, style: str, dialogues: list[str]) -> str:
    """An ASS script of one `Default` style (`style`: its fields after the name) and `dialogues`
    (each a Dialogue line's fields)."""
    header = ASS_HEADER.format(width=width, height=height, style=style)
    return header + "".join(f"Dialogue: {dialogue}\n" for dialogue in dialogues)
