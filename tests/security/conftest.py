"""Fixtures of the security tests: finished jobs of every kind with real files in storage, and a tiny
loopback HTTP server that records every request it receives (the SSRF canary)."""

import http.server
import subprocess
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.core.storage import job_file_key, storage_save_file
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import new_public_id

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
    subprocess.run(
        [
            ffmpeg_tools[0],
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            str(target),
        ],
        check=True,
        timeout=60,
    )
    return target


@pytest.fixture
def make_finished_jobs(tiny_audio, tmp_path):
    def _job(owner, kind: str, *, result: dict, source_job: Job | None = None, spec: dict | None = None) -> Job:
        return Job.objects.create(
            public_id=result.pop("_public_id"),
            kind=kind,
            owner=owner,
            status=JobStatus.SUCCEEDED,
            stage="done",
            progress=100,
            spec=spec or {},
            result=result,
            source_job=source_job,
            expires_at=timezone.now() + timedelta(days=8),
            finished_at=timezone.now(),
        )

    def _stored(public_id: str, name: str, local: Path = tiny_audio) -> str:
        return storage_save_file(key=job_file_key(public_id, name), local_path=local)

    def _stems(public_id: str) -> list[dict]:
        return [
            {"stemId": stem_id, "label": label, "storageKey": _stored(public_id, f"{stem_id}.mp3"), "durationMs": 1000}
            for stem_id, label in (("speaker_0", "Speaker 1"), ("background", "Background audio"))
        ]

    def _make(owner) -> FinishedJobs:
        srt = tmp_path / f"{owner.pk}.srt"
        srt.write_text(SRT_TEXT)
        ids = {kind: new_public_id(kind) for kind in JobKind.values}
        separation = _job(
            owner,
            JobKind.SEPARATION,
            result={"_public_id": ids[JobKind.SEPARATION], "stems": _stems(ids["separation"])},
        )
        mixed_id = new_public_id(JobKind.SEPARATION)
        mixed_separation = _job(owner, JobKind.SEPARATION, result={"_public_id": mixed_id, "stems": _stems(mixed_id)})
        mix = _job(
            owner,
            JobKind.MIX,
            result={"_public_id": ids[JobKind.MIX], "outputKey": _stored(ids[JobKind.MIX], "mix.mp3")},
            source_job=mixed_separation,
        )
        subtitles = _job(
            owner,
            JobKind.SUBTITLES,
            spec={"targetLanguageCodes": ["en"]},
            result={
                "_public_id": ids[JobKind.SUBTITLES],
                "originalSrtKey": _stored(ids[JobKind.SUBTITLES], "original.srt", srt),
                "translatedSrtKeys": {"en": _stored(ids[JobKind.SUBTITLES], "en.srt", srt)},
            },
        )
        autodub = _job(
            owner,
            JobKind.AUTODUB,
            result={
                "_public_id": ids[JobKind.AUTODUB],
                "dubbedAudioKey": _stored(ids[JobKind.AUTODUB], "dubbed.mp3"),
                "dubbedVideoKey": _stored(ids[JobKind.AUTODUB], "dubbed.mp4"),
            },
        )
        render = _job(
            owner,
            JobKind.RENDER,
            result={
                "_public_id": ids[JobKind.RENDER],
                "output_key": _stored(ids[JobKind.RENDER], "output.mp4"),
                "output_kind": "video",
                "duration_ms": 1000,
            },
        )
        return FinishedJobs(
            separation=separation,
            mixed_separation=mixed_separation,
            mix=mix,
            subtitles=subtitles,
            autodub=autodub,
            render=render,
        )

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
