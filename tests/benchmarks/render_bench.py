"""Render: the platform's single-pass render against a multi-pass pipeline of the reference's shape,
side by side in one run, on the same fixed project.

Project: 3 VIDEO segments (60 s of output, 720p, one at 1.5x speed), 2 stickers, ASS subtitles,
2 dub clips (espeak-ng), 1 BGM. Both pipelines use the same encoder settings (libx264 -preset fast
-crf 23, AAC 192k, 30 fps), so the difference is the pipeline's shape:
  platform  — apps.render.planning.render_plan → apps.media.ffmpeg.run_ffmpeg: one ffmpeg, one encode;
  reference — per-segment normalise encodes (2 in parallel, as the reference did) → concat demuxer
              copy → final encode with burn-in, overlays and the audio mix.

Run: .venv/bin/python tests/benchmarks/render_bench.py        (needs ffmpeg, ffprobe, espeak-ng)
Goal: wall-time ratio platform / reference ≤ 0.55. Figures: docs/render.md.
"""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT, FPS = 1280, 720, 30
ROUNDS = int(os.environ.get("RENDER_BENCH_ROUNDS", "3"))
SEGMENTS = [  # (source seconds, trim start ms, trim end ms, speed)
    (24, 2000, 22000, 1.0),
    (32, 1000, 31000, 1.5),
    (22, 0, 20000, 1.0),
]
# The ASS header: one default style (white 48 px DejaVu Sans, outlined, bottom centre), then events.
_STYLE = {
    "Name": "Default", "Fontname": "DejaVu Sans", "Fontsize": "48", "PrimaryColour": "&H00FFFFFF",
    "SecondaryColour": "&H000000FF", "OutlineColour": "&H00000000", "BackColour": "&H00000000", "Bold": "0",
    "Italic": "0", "Underline": "0", "StrikeOut": "0", "ScaleX": "100", "ScaleY": "100", "Spacing": "0",
    "Angle": "0", "BorderStyle": "1", "Outline": "3", "Shadow": "0", "Alignment": "2", "MarginL": "20",
    "MarginR": "20", "MarginV": "40", "Encoding": "1",
}  # fmt: skip
_EVENT_FIELDS = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
ASS = (
    f"[Script Info]\nScriptType: v4.00+\nPlayResX: {WIDTH}\nPlayResY: {HEIGHT}\n\n"
    f"[V4+ Styles]\nFormat: {', '.join(_STYLE)}\nStyle: {','.join(_STYLE.values())}\n\n"
    f"[Events]\nFormat: {_EVENT_FIELDS}\n"
)


def ffmpeg(*arguments: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


def make_project(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for index, (seconds, *_rest) in enumerate(SEGMENTS):
        target = folder / f"video_{index}.mp4"
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
               "-f", "lavfi", "-i", f"sine=frequency={300 + 100 * index}:sample_rate=48000:duration={seconds}",
               "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac",
               "-shortest", str(target))  # fmt: skip
        files[f"video_{index}"] = target
    for index, color in enumerate(("red", "yellow")):
        files[f"image_{index}"] = folder / f"image_{index}.png"
        ffmpeg("-f", "lavfi", "-i", f"color=c={color}:size=256x256", "-frames:v", "1", str(files[f"image_{index}"]))
    for index, text in enumerate(("Welcome to the benchmark", "And this is the second dub clip")):
        files[f"audio_{index}"] = folder / f"audio_{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(files[f"audio_{index}"]), text], check=True)
    files["bgm_0"] = folder / "bgm_0.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=90", "-c:a", "aac", str(files["bgm_0"]))
    events = "".join(
        f"Dialogue: 0,0:00:{start:02d}.00,0:00:{start + 4:02d}.00,Default,,0,0,0,,Subtitle line {n}\n"
        for n, start in enumerate(range(1, 57, 6))
    )
    files["subtitles"] = folder / "subtitles.ass"
    files["subtitles"].write_text(ASS + events, encoding="utf-8")
    return files


CONFIG = {
    "segments": [
        {"sourceFileKey": f"video_{i}", "type": "VIDEO", "order": i, "trimStartMs": start, "trimEndMs": end,
         "speedScale": speed, "volumeScale": 1.0}
        for i, (_seconds, start, end, speed) in enumerate(SEGMENTS)
    ],
    "frame": {"width": WIDTH, "height": HEIGHT, "backgroundColorHex": "#000000"},
    "imageClips": [
        {"imageFileKey": "image_0", "startMs": 2000, "endMs": 15000, "xPct": 20, "yPct": 20, "widthPct": 15,
         "heightPct": 20},
        {"imageFileKey": "image_1", "startMs": 30000, "endMs": 55000, "xPct": 80, "yPct": 75, "widthPct": 12,
         "heightPct": 16},
    ],
    "dubClips": [
        {"audioFileKey": "audio_0", "startMs": 5000, "durationMs": 0, "volume": 1.0},
        {"audioFileKey": "audio_1", "startMs": 40000, "durationMs": 0, "volume": 1.0},
    ],
    "bgmClips": [{"audioFileKey": "bgm_0", "startMs": 0, "volume": 0.3, "speed": 1.0}],
    "quality": "medium",
    "outputKind": "video",
}  # fmt: skip


def platform_render(files: dict[str, Path], output: Path) -> float:
    from apps.media.ffmpeg import probe, run_ffmpeg
    from apps.render.config import render_config_from_dict
    from apps.render.planning import PlanInput, render_plan

    started = time.monotonic()
    inputs = {key: PlanInput(str(path), probe(path)) for key, path in files.items() if key != "subtitles"}
    plan = render_plan(
        config=render_config_from_dict(CONFIG),
        inputs=inputs,
        output_path=str(output),
        subtitles_path=str(files["subtitles"]),
    )
    run_ffmpeg(plan.arguments, timeout=3600, expected_duration_ms=plan.duration_ms, on_progress=lambda _: None)
    return time.monotonic() - started


def _atempo(speed: float) -> str:
    return f"atempo={speed}" if 0.5 <= speed <= 2 else "atempo=2.0,atempo=" + str(speed / 2)


def reference_render(files: dict[str, Path], work: Path, output: Path) -> float:
    """The reference renderer's filter graph shape, with its ffmpeg arguments."""
    started = time.monotonic()
    scale = (
        f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,"
        f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2:color=0x000000,setsar=1"
    )

    def normalise(index: int) -> Path:
        _seconds, start, end, speed = SEGMENTS[index]
        target = work / f"seg_vid_{index}.mp4"
        video_filter = scale + (f",setpts=PTS/{speed}" if speed != 1 else "")
        audio = ["-af", _atempo(speed)] if speed != 1 else []
        ffmpeg("-ss", f"{start / 1000:.6f}", "-i", str(files[f"video_{index}"]),
               "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", f"{(end - start) / 1000 / speed:.6f}",
               "-vf", video_filter, *audio, "-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p", "-r", "30",
               "-c:a", "aac", "-b:a", "192k", str(target))  # fmt: skip
        return target

    with ThreadPoolExecutor(max_workers=2) as pool:  # the reference normalised 2 segments at a time
        segments = list(pool.map(normalise, range(len(SEGMENTS))))
    listing = work / "list.txt"
    listing.write_text("".join(f"file '{path}'\n" for path in segments))
    joined = work / "concat.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(joined))

    total = sum((end - start) / 1000 / speed for _s, start, end, speed in SEGMENTS)
    inputs = ["-i", str(joined)]
    audio_graph = []
    labels = []
    for index, clip in enumerate(CONFIG["dubClips"] + CONFIG["bgmClips"]):
        inputs += ["-i", str(files[clip["audioFileKey"]])]
        label = f"a{index}"
        audio_graph.append(
            f"[{index + 1}:a]adelay={clip['startMs']}|{clip['startMs']},volume={clip['volume']}[{label}]"
        )
        labels.append(f"[{label}]")
    audio_graph.append(f"[0:a]{''.join(labels)}amix=inputs={len(labels) + 1}:duration=first:dropout_transition=0[aout]")
    video_graph = [f"[0:v]ass='{files['subtitles']}'[v0]"]
    for index, clip in enumerate(CONFIG["imageClips"]):
        input_index = len(inputs) // 2
        inputs += ["-i", str(files[clip["imageFileKey"]])]
        w, h = int(clip["widthPct"] / 100 * WIDTH), int(clip["heightPct"] / 100 * HEIGHT)
        x, y = int(clip["xPct"] / 100 * WIDTH) - w // 2, int(clip["yPct"] / 100 * HEIGHT) - h // 2
        video_graph.append(f"[{input_index}:v]scale={w}:{h}[simg{index}]")
        video_graph.append(
            f"[v{index}][simg{index}]overlay=x={x}:y={y}:"
            f"enable='between(t,{clip['startMs'] / 1000},{clip['endMs'] / 1000})'[v{index + 1}]"
        )
    last = f"v{len(CONFIG['imageClips'])}"
    ffmpeg(*inputs, "-filter_complex", ";".join(video_graph + audio_graph), "-map", f"[{last}]", "-map", "[aout]",
           "-c:v", "libx264", "-preset", "fast", "-crf", "23", "-c:a", "aac", "-b:a", "192k",
           "-movflags", "+faststart", "-t", f"{total:.6f}", str(output))  # fmt: skip
    return time.monotonic() - started


def duration_of(path: Path) -> float:
    text = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=duration", "-of", "csv=p=0",
         str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(text.strip())


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibi.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    with tempfile.TemporaryDirectory(prefix="render-bench-") as folder:
        folder = Path(folder)
        print("generating the project's media (3 × 720p+ sources, stickers, dubs, BGM, ASS)...", flush=True)
        files = make_project(folder)
        platform_output, reference_output = folder / "platform.mp4", folder / "reference.mp4"
        platform_runs, reference_runs = [], []
        for round_number in range(1, ROUNDS + 1):  # alternated, best of each: a shared machine is noisy
            reference_work = folder / f"reference-{round_number}"
            reference_work.mkdir()
            platform_runs.append(platform_render(files, platform_output))
            reference_runs.append(reference_render(files, reference_work, reference_output))
            print(f"round {round_number}: platform {platform_runs[-1]:.2f} s, reference {reference_runs[-1]:.2f} s",
                  flush=True)  # fmt: skip
        platform_seconds, reference_seconds = min(platform_runs), min(reference_runs)
        output_seconds = duration_of(platform_output)
        print(f"output: {output_seconds:.3f} s at {WIDTH}x{HEIGHT} (reference {duration_of(reference_output):.3f} s)")
        print(f"platform  (1 ffmpeg, 1 encode):                  {platform_seconds:7.2f} s wall (best of {ROUNDS})")
        print(f"reference (3 segment encodes, concat, 1 encode): {reference_seconds:7.2f} s wall (best of {ROUNDS})")
        ratio = platform_seconds / reference_seconds
        print(f"wall-time ratio platform/reference: {ratio:.2f}  (goal <= 0.55)")
        print(f"platform realtime factor: {output_seconds / platform_seconds:.2f}x  (output seconds per wall second)")
        return 0 if ratio <= 0.55 else 1


if __name__ == "__main__":
    sys.exit(main())
