"""Media for render tests, generated on the fly (lavfi sources, espeak-ng), and output measurements."""

from pathlib import Path

import pytest

from tests.render.measure import run
from tests.support.media import ass_script

SUBTITLE_STYLE = "DejaVu Sans,40,&H00FFFFFF,&H00FFFFFF,&H00FFFFFF,&H00FFFFFF,1,0,0,0,100,100,0,0,3,4,0,5,0,0,0,1"


@pytest.fixture
def media(tmp_path, ffmpeg_tools):
    """Factories for test media; every file lands in the test's tmp folder."""
    ffmpeg = ffmpeg_tools[0]
    folder = tmp_path / "in"
    folder.mkdir()

    class Media:
        @staticmethod
        def video(
            name: str = "clip.mp4",
            *,
            seconds: float = 2.0,
            size: str = "160x120",
            color: str | None = None,
            tone_hz: int | None = 440,
            tone_volume: float = 0.5,
        ) -> Path:
            target = folder / name
            source = f"color=c={color}:size={size}:rate=25" if color else f"testsrc2=size={size}:rate=25"
            command = [ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"{source}:duration={seconds}"]
            if tone_hz:
                command += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100:duration={seconds}"]
                command += ["-af", f"volume={tone_volume}", "-c:a", "aac"]
            command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(target)]
            run(command)
            return target

        @staticmethod
        def tone(name: str = "tone.wav", *, seconds: float = 1.0, hz: int = 1000, volume: float = 0.8) -> Path:
            target = folder / name
            run(
                [ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                 f"sine=frequency={hz}:sample_rate=44100:duration={seconds}", "-af", f"volume={volume}", str(target)]
            )  # fmt: skip
            return target

        @staticmethod
        def silence(name: str = "silence.wav", *, seconds: float = 3.0) -> Path:
            target = folder / name
            run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t",
                 str(seconds), str(target)])  # fmt: skip
            return target

        @staticmethod
        def speech(name: str = "speech.wav", *, text: str = "hello there, this is a dub") -> Path:
            target = folder / name
            run(["espeak-ng", "-w", str(target), text])
            return target

        @staticmethod
        def image(name: str = "sticker.png", *, color: str = "red", size: str = "32x32") -> Path:
            target = folder / name
            run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"color=c={color}:size={size}",
                 "-frames:v", "1", str(target)])  # fmt: skip
            return target

        @staticmethod
        def ass(name: str = "subs.ass", *, start: str = "0:00:00.50", end: str = "0:00:01.50", folder_=None) -> Path:
            target = (folder_ or folder) / name
            dialogue = f"0,{start},{end},Default,,0,0,0,,WWWW"
            script = ass_script(width=160, height=120, style=SUBTITLE_STYLE, dialogues=[dialogue])
            target.write_text(script, encoding="utf-8")
            return target

    return Media()


@pytest.fixture(autouse=True)
def render_work_dir(settings, tmp_path):
    """Render scratch space and slot locks of this test only."""
    settings.RENDER_WORK_DIR = str(tmp_path / "render-work")
    return Path(settings.RENDER_WORK_DIR)
