"""Fixtures of the security tests: finished jobs of every kind with real files in storage, and a tiny
loopback HTTP server that records every request it receives (the SSRF canary)."""

import http.server
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobKind
from apps.jobs.services import new_public_id
from tests.support.jobs import finished_job
from tests.support.media import lavfi_media

SRT_TEXT = "1\n00:00:00,000 --> 00:00:01,000\nHello\n"


@dataclass(frozen=True)
class FinishedJobs:
    """One finished job of each kind, all of one owner."""

    separation: Job  # READY, stems speaker_0 and background
    mixed_separation: Job  # READY, its stems consumed by `mix`
    mix: Job  # COMPLETED mix of mixed_separation
    subtitles: Job  # READY, original + "en"
    autodub: Job  # READY, audio + video
    render: Job  # COMPLETED video


@pytest.fixture(scope="session")
def tiny_audio(tmp_path_factory, ffmpeg_tools) -> Path:
    target = tmp_path_factory.mktemp("security-media") / "tone.mp3"
    return lavfi_media(target, "sine=frequency=440:duration=1", ffmpeg=ffmpeg_tools[0])


@pytest.fixture
def make_finished_jobs(tiny_audio, tmp_path):
    def _stored(public_id: str, name: str, local: Path = tiny_audio) -> str:
        return storage_save_file(key=job_file_key(public_id, name), local_path=local)

    def _job(owner, kind: str, *, public_id: str | None = None, files=None, result=None, **fields) -> Job:
        """`files`: result field -> name of a file stored under the job (a copy of tiny_audio)."""
        public_id = public_id or new_public_id(kind)
        stored = {field: _stored(public_id, name) for field, name in (files or {}).items()}
        return finished_job(
            owner,
            kind,
            public_id=public_id,
            result={**stored, **(result or {})},
            stage="done",
            expires_at=timezone.now() + timedelta(days=8),
            finished_at=timezone.now(),
            **fields,
        )

    def _stems(public_id: str) -> list[dict]:
        return [
            {"stemId": stem_id, "label": label, "storageKey": _stored(public_id, f"{stem_id}.mp3"), "durationMs": 1000}
            for stem_id, label in (("speaker_0", "Speaker 1"), ("background", "Background audio"))
        ]

    def _make(owner) -> FinishedJobs:
        srt = tmp_path / f"{owner.pk}.srt"
        srt.write_text(SRT_TEXT)
        separation_id, mixed_id = new_public_id(JobKind.SEPARATION), new_public_id(JobKind.SEPARATION)
        subtitles_id = new_public_id(JobKind.SUBTITLES)
        separation = _job(owner, JobKind.SEPARATION, public_id=separation_id, result={"stems": _stems(separation_id)})
        mixed_separation = _job(owner, JobKind.SEPARATION, public_id=mixed_id, result={"stems": _stems(mixed_id)})
        mix = _job(owner, JobKind.MIX, files={"outputKey": "mix.mp3"}, source_job=mixed_separation)
        subtitles = _job(
            owner,
            JobKind.SUBTITLES,
            public_id=subtitles_id,
            spec={"targetLanguageCodes": ["en"]},
            result={
                "originalSrtKey": _stored(subtitles_id, "original.srt", srt),
                "translatedSrtKeys": {"en": _stored(subtitles_id, "en.srt", srt)},
            },
        )
        autodub = _job(owner, JobKind.AUTODUB, files={"dubbedAudioKey": "dubbed.mp3", "dubbedVideoKey": "dubbed.mp4"})
        render = _job(
            owner,
            JobKind.RENDER,
            files={"output_key": "output.mp4"},
            result={"output_kind": "video", "duration_ms": 1000},
        )
        return FinishedJobs(separation, mixed_separation, mix, subtitles, autodub, render)

    return _make


@dataclass
class RequestRecorder:
    """A loopback HTTP server that answers 200 to anything and remembers each request line."""

    port: int
    requests: list[str]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def request_recorder():
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self):
            seen.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"ID3\x00")

        do_GET = do_POST = do_HEAD = do_PUT = _record

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RequestRecorder(port=server.server_address[1], requests=seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
