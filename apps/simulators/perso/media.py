"""Real media outputs of simulated Perso projects, made from the upload: one ffmpeg run decodes it
and finds its speech, the voice/background/speaker files are that PCM with stretches muted (written
with the wave module, no ffmpeg run per output); dubbing uses ffmpeg and espeak-ng.

- Sentences: speech is where `silencedetect` finds no silence (noise -35 dB, 0.35 s); each speech
  segment is one sentence with its offsetMs/durationMs.
- Text of sentence i: line i of the transcript, taken from (1) a `<stem>.txt` sidecar uploaded
  through the same SAS flow before the media was registered, else (2) the media's `comment` tag
  (lines separated by "|" or newlines), else "Sentence <i>." A line "[2] text" puts it on speaker 2.
- Speakers: explicit "[n]" tags win; otherwise sentences alternate between `numberOfSpeakers`
  speakers (translate), two speakers (separation, when there are two or more sentences), or one (STT).
- Voice (OriginalVoiceOnly) = the input with everything outside speech muted; background
  (OriginalBaseBackground) = the input with speech muted; OriginalSubBackground = background when
  there are two or more speakers, the full mix with one (the real service's quirk); the speaker
  archive is a TAR of `OriginalVoiceSpeaker_<n>.wav`, each the input gated to that speaker's sentences.
- Dubbing: the translated text is "[<target>] <original>"; espeak-ng speaks the original text of each
  sentence at its offset (the voice track), mixed with the background (translated audio), and put
  under the input's video for the dubbed video. Subtitles are SRT files.
"""

import json
import math
import os
import re
import struct
import subprocess
import tarfile
import wave
from dataclasses import dataclass
from pathlib import Path

from apps.media.ffmpeg import ffmpeg_binary, ffprobe_binary, wav_header_info

SILENCE_NOISE = "-35dB"
SILENCE_MIN_SEC = 0.35
MIN_SENTENCE_MS = 150
MAX_SENTENCES = 300
PCM_SAMPLE_BYTES = 2
SPEAKER_TAG = re.compile(r"^\s*\[(\d{1,2})\]\s*(.*)$")


class SimMediaError(Exception):
    pass


def _run(command: list[str], *, timeout: float = 300) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        tail = completed.stderr.decode(errors="replace")[-800:]
        raise SimMediaError(f"{Path(command[0]).name} failed: {tail}")
    return completed


def _ffmpeg(*arguments: str) -> subprocess.CompletedProcess:
    """ffmpeg quiet, non-interactive, overwriting its output."""
    return _run([ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", *arguments])


def probe_media(path: Path) -> dict | None:
    """ffprobe facts of an uploaded file, or None when it is not media."""
    wav_facts = _pcm_wav_facts(path)
    if wav_facts is not None:
        return wav_facts
    ffprobe = ffprobe_binary()
    if ffprobe is None:
        return None
    completed = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        return None
    document = json.loads(completed.stdout or b"{}")
    streams = document.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and s.get("codec_name") not in ("mjpeg", "png")), None
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if not video and not audio:
        return None
    format_info = document.get("format", {})
    tags = {key.lower(): value for key, value in (format_info.get("tags") or {}).items()}
    duration = format_info.get("duration")
    return {
        "durationMs": int(float(duration) * 1000) if duration not in (None, "N/A") else 0,
        "hasVideo": video is not None,
        "hasAudio": audio is not None,
        "width": video.get("width") if video else None,
        "height": video.get("height") if video else None,
        "comment": tags.get("comment") or tags.get("description") or "",
    }


def _pcm_wav_facts(path: Path) -> dict | None:
    """probe_media's facts of a plain PCM WAV read from its chunks (what ffprobe reports: the duration,
    and the comment from a LIST INFO ICMT); None for anything with other chunks, left to ffprobe."""
    info = wav_header_info(path)
    if info is None:
        return None
    comment = ""
    try:
        with open(path, "rb") as handle:
            handle.seek(12)
            while chunk_head := handle.read(8):
                if len(chunk_head) < 8:
                    return None
                chunk_id, chunk_size = chunk_head[:4], struct.unpack("<I", chunk_head[4:])[0]
                if chunk_id == b"LIST":
                    body = handle.read(chunk_size)
                    if len(body) < chunk_size or body[:4] != b"INFO":
                        return None
                    comment = _info_comment(body[4:]) or comment
                    handle.seek(chunk_size % 2, os.SEEK_CUR)
                elif chunk_id in (b"fmt ", b"data", b"fact"):
                    handle.seek(chunk_size + chunk_size % 2, os.SEEK_CUR)
                else:
                    return None
    except (OSError, struct.error):
        return None
    return {
        "durationMs": info.duration_ms,
        "hasVideo": False,
        "hasAudio": True,
        "width": None,
        "height": None,
        "comment": comment,
    }


def _info_comment(info_body: bytes) -> str:
    offset = 0
    while offset + 8 <= len(info_body):
        entry_id, entry_size = (
            info_body[offset : offset + 4],
            struct.unpack("<I", info_body[offset + 4 : offset + 8])[0],
        )
        value = info_body[offset + 8 : offset + 8 + entry_size]
        if entry_id == b"ICMT":
            return value.split(b"\0", 1)[0].decode(errors="replace").strip()
        offset += 8 + entry_size + entry_size % 2
    return ""


def decode_with_speech_segments(source: Path, target: Path, duration_ms: int) -> list[tuple[int, int]]:
    """Decodes `source` to 44.1 kHz stereo 16-bit WAV at `target` and returns the (start_ms, end_ms)
    of its non-silent stretches, found by `silencedetect` on that same audio in the same ffmpeg run."""
    completed = _ffmpeg(
        "-i",
        str(source),
        "-vn",
        "-af",
        f"aresample=44100,aformat=sample_fmts=s16:channel_layouts=stereo,"
        f"silencedetect=noise={SILENCE_NOISE}:d={SILENCE_MIN_SEC}",
        "-c:a",
        "pcm_s16le",
        str(target),
    )
    return _speech_segments(completed.stderr.decode(errors="replace"), duration_ms)


def _speech_segments(silencedetect_log: str, duration_ms: int) -> list[tuple[int, int]]:
    silences: list[tuple[int, int]] = []
    start = None
    for line in silencedetect_log.splitlines():
        if "silence_start:" in line:
            start = int(float(line.split("silence_start:")[1].split()[0]) * 1000)
        elif "silence_end:" in line:
            end = int(float(line.split("silence_end:")[1].split("|")[0].strip()) * 1000)
            silences.append((max(0, start or 0), end))
            start = None
    if start is not None:
        silences.append((max(0, start), duration_ms))
    segments = []
    cursor = 0
    for silence_start, silence_end in sorted(silences):
        if silence_start - cursor >= MIN_SENTENCE_MS:
            segments.append((cursor, silence_start))
        cursor = max(cursor, silence_end)
    if duration_ms - cursor >= MIN_SENTENCE_MS:
        segments.append((cursor, duration_ms))
    return segments[:MAX_SENTENCES]


def transcript_lines(*, sidecar_text: str, comment: str) -> list[str]:
    source = sidecar_text or comment or ""
    return [line.strip() for line in re.split(r"[|\n]", source) if line.strip()]


def build_sentences(*, segments: list[tuple[int, int]], lines: list[str], kind: str, speakers: int) -> list[dict]:
    if kind == "separation":
        speakers = 2 if len(segments) >= 2 else 1
    elif kind == "stt":
        speakers = 1
    speakers = max(1, speakers)
    sentences = []
    for index, (start, end) in enumerate(segments):
        text = lines[index] if index < len(lines) else f"Sentence {index + 1}."
        speaker = index % speakers + 1
        tagged = SPEAKER_TAG.match(text)
        if tagged:
            speaker, text = int(tagged.group(1)), tagged.group(2).strip()
        sentences.append({"offsetMs": start, "durationMs": end - start, "text": text, "speaker": speaker})
    return sentences


@dataclass(frozen=True)
class PcmAudio:
    """A 16-bit PCM WAV held in memory: the outputs are the input with stretches muted, written with
    the wave module (no ffmpeg run per output)."""

    channels: int
    sample_rate: int
    frames: bytes

    @classmethod
    def read(cls, path: Path) -> "PcmAudio":
        with wave.open(str(path), "rb") as reader:
            if reader.getsampwidth() != PCM_SAMPLE_BYTES:
                raise SimMediaError(f"expected 16-bit PCM in {path.name}")
            return cls(
                channels=reader.getnchannels(),
                sample_rate=reader.getframerate(),
                frames=reader.readframes(reader.getnframes()),
            )

    def write(self, target: Path, frames: bytes | bytearray | None = None) -> None:
        with wave.open(str(target), "wb") as writer:
            writer.setnchannels(self.channels)
            writer.setsampwidth(PCM_SAMPLE_BYTES)
            writer.setframerate(self.sample_rate)
            writer.writeframes(self.frames if frames is None else frames)

    def frame_range(self, sentence: dict) -> tuple[int, int]:
        """The frames whose time t lies in [offset, offset + duration] (both ends, as ffmpeg's between())."""
        start = math.ceil(sentence["offsetMs"] * self.sample_rate / 1000)
        end = math.floor((sentence["offsetMs"] + sentence["durationMs"]) * self.sample_rate / 1000) + 1
        frame_count = len(self.frames) // self.frame_bytes
        return min(start, frame_count), min(end, frame_count)

    @property
    def frame_bytes(self) -> int:
        return self.channels * PCM_SAMPLE_BYTES


def _gate(audio: PcmAudio, target: Path, *, keep: list[dict] | None, mute: list[dict] | None) -> None:
    """Writes `audio` with everything outside `keep` (or inside `mute`) muted."""
    if keep is not None:
        gated = bytearray(len(audio.frames))
        for sentence in keep:
            start, end = audio.frame_range(sentence)
            span = slice(start * audio.frame_bytes, end * audio.frame_bytes)
            gated[span] = audio.frames[span]
    else:
        gated = bytearray(audio.frames)
        for sentence in mute or []:
            start, end = audio.frame_range(sentence)
            gated[start * audio.frame_bytes : end * audio.frame_bytes] = bytes(max(0, end - start) * audio.frame_bytes)
    audio.write(target, gated)


def _srt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3600000)
    minutes, rest = divmod(rest, 60000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def _write_srt(path: Path, sentences: list[dict], key: str) -> None:
    blocks = [
        f"{index}\n{_srt_time(s['offsetMs'])} --> {_srt_time(s['offsetMs'] + s['durationMs'])}\n{s[key]}\n"
        for index, s in enumerate(sentences, start=1)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")


def _speak(text: str, language: str, target: Path) -> None:
    for voice in (language, "en"):
        completed = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "170", "-w", str(target), text or "."],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if completed.returncode == 0 and target.exists() and target.stat().st_size > 44:
            return
    raise SimMediaError("espeak-ng could not speak the sentence")


def _dub_voice(folder: Path, sentences: list[dict], language: str, duration_ms: int, target: Path) -> None:
    """espeak-ng speech of each sentence placed at its offset, as long as the input."""
    arguments = ["-f", "lavfi", "-t", f"{duration_ms / 1000:.3f}", "-i", "anullsrc=r=44100:cl=stereo"]
    filters = []
    for index, sentence in enumerate(sentences):
        speech = folder / f"tts_{index}.wav"
        _speak(sentence["text"], language, speech)
        arguments += ["-i", str(speech)]
        delay = sentence["offsetMs"]
        filters.append(
            f"[{index + 1}:a]aresample=44100,aformat=channel_layouts=stereo,"
            f"atrim=0:{(sentence['durationMs'] + 400) / 1000:.3f},adelay={delay}|{delay}[s{index}]"
        )
    labels = "".join(f"[s{index}]" for index in range(len(sentences)))
    filters.append(f"[0:a]{labels}amix=inputs={len(sentences) + 1}:normalize=0:duration=first[out]")
    arguments += ["-filter_complex", ";".join(filters), "-map", "[out]", "-c:a", "pcm_s16le", str(target)]
    _ffmpeg(*arguments)
    for index in range(len(sentences)):
        (folder / f"tts_{index}.wav").unlink(missing_ok=True)


def generate_outputs(*, project: dict, media: dict, sidecar_text: str, folder: Path) -> dict:
    """Makes every output file of a completed project in `folder`; returns the manifest."""
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        return json.loads(manifest_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(media["path"])
    audio = folder / "input.wav"
    duration_ms = media["durationMs"]
    segments = decode_with_speech_segments(source, audio, duration_ms)
    lines = transcript_lines(sidecar_text=sidecar_text, comment=media.get("comment", ""))
    sentences = build_sentences(
        segments=segments, lines=lines, kind=project["kind"], speakers=int(project.get("numberOfSpeakers") or 1)
    )
    target_language = project.get("targetLanguage") or ""
    for sentence in sentences:
        sentence["translatedText"] = f"[{target_language}] {sentence['text']}" if target_language else ""
    files: dict[str, str] = {}
    _write_srt(folder / "OriginalSubtitle.srt", sentences, "text")
    files["originalSubtitle"] = "OriginalSubtitle.srt"
    if project["kind"] in ("separation", "translate"):
        pcm = PcmAudio.read(audio)
        _gate(pcm, folder / "OriginalVoiceOnly.wav", keep=sentences, mute=None)
        _gate(pcm, folder / "OriginalBaseBackground.wav", keep=None, mute=sentences)
        files["originalVoice"] = "OriginalVoiceOnly.wav"
        files["originalBackground"] = "OriginalBaseBackground.wav"
        speaker_ids = sorted({s["speaker"] for s in sentences})
        if len(speaker_ids) >= 2:
            files["originalSubBackground"] = "OriginalBaseBackground.wav"
        else:
            files["originalSubBackground"] = "OriginalSubBackground.wav"
            pcm.write(folder / "OriginalSubBackground.wav")
        with tarfile.open(folder / "OriginalVoiceSpeakers.tar", "w") as bundle:
            for speaker in speaker_ids or [1]:
                speaker_file = folder / f"OriginalVoiceSpeaker_{speaker}.wav"
                _gate(pcm, speaker_file, keep=[s for s in sentences if s["speaker"] == speaker], mute=None)
                bundle.add(speaker_file, arcname=speaker_file.name)
        files["originalVoiceSpeakers"] = "OriginalVoiceSpeakers.tar"
    if project["kind"] == "translate":
        _write_srt(folder / "TranslatedSubtitle.srt", sentences, "translatedText")
        files["translatedSubtitle"] = "TranslatedSubtitle.srt"
        voice = folder / "TranslatedVoice.wav"
        _dub_voice(folder, sentences, target_language or "en", duration_ms, voice)
        files["translatedVoice"] = "TranslatedVoice.wav"
        mixed = folder / "VoiceWithBackground.mp3"
        _ffmpeg(
            "-i",
            str(voice),
            "-i",
            str(folder / "OriginalBaseBackground.wav"),
            "-filter_complex",
            "amix=inputs=2:normalize=0:duration=first",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            str(mixed),
        )
        files["voiceWithBackground"] = "VoiceWithBackground.mp3"
        if project.get("isVideo") and media.get("hasVideo"):
            video = folder / "DubbingVideo.mp4"
            inputs = ["-i", str(source), "-i", str(mixed), "-map", "0:v:0", "-map", "1:a:0", "-shortest"]
            try:
                _ffmpeg(*inputs, "-c:v", "copy", "-c:a", "aac", str(video))
            except SimMediaError:
                _ffmpeg(
                    *inputs, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)
                )
            files["dubbingVideo"] = "DubbingVideo.mp4"
    audio.unlink(missing_ok=True)
    manifest = {"sentences": sentences, "files": files}
    manifest_path.write_text(json.dumps(manifest))
    return manifest
