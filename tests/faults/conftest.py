"""The fault tests' harness: real Celery worker and beat PROCESSES (each in its own session, so a
whole worker — main process and pool children — can be killed at once), a private redis-server on
a loopback port, and helpers to wait for jobs. Every process started here is killed by the
fixture's finalizer, also when the test fails."""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from apps.jobs.models import Job, JobEvent, JobStatus
from tests.conftest import make_speech
from tests.support.network import free_loopback_port, redis_answers_ping
from tests.support.waiting import wait_group_dead, wait_until

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CELERY = str(Path(sys.executable).parent / "celery")
TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def child_database_url() -> str:
    """The database of the running (transactional) test, for child processes."""
    database = settings.DATABASES["default"]
    user = quote(database["USER"] or "")
    password = f":{quote(database['PASSWORD'])}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )


def wait_for_job_success(job: Job, *, timeout: float, what: str) -> None:
    """Waits for `job` to end, then refreshes it and asserts it succeeded."""
    wait_until(lambda: Job.objects.filter(pk=job.pk, status__in=TERMINAL).exists(), timeout=timeout, what=what)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.status, job.error_code, job.error_detail)


def timeline(job: Job) -> list[str]:
    return list(JobEvent.objects.filter(job=job).order_by("at", "pk").values_list("kind", flat=True))


def describe(jobs) -> str:
    return "; ".join(f"{j.public_id} {j.status}/{j.stage} {j.error_code} {j.progress_reason}" for j in jobs)


class Processes:
    """Child processes of one test. Each runs in a new session (its own process group); its output
    goes to a log file under the test's tmp folder, shown when the test fails."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: list[Path] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        assert name not in self.running, f"{name} is already running"
        log_path = self.log_dir / f"{name}-{len(self.logs)}.log"
        self.logs.append(log_path)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL, *, timeout: float = 30.0) -> None:
        """Signals the whole process group (main process and pool children) and waits for it to end."""
        process = self.running.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        wait_group_dead(process.pid)  # pool children reparented to init may outlive their main process

    def kill_all(self) -> None:
        for name in list(self.running):
            self.kill(name)

    def log_tails(self, lines: int = 40) -> str:
        parts = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {path.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


@pytest.fixture
def processes(transactional_db, tmp_path, request):
    """Depends on the database fixture, so every child is dead before the test database is flushed."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    harness = Processes(log_dir)
    yield harness
    harness.kill_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(harness.log_tails())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


class Workers:
    """Starts `celery worker` and `celery beat` processes sharing the test's database, broker,
    storage and simulators."""

    def __init__(self, processes: Processes, *, tmp_path: Path, base_env: dict[str, str]):
        self.processes = processes
        self.tmp_path = tmp_path
        self.base_env = base_env

    def env(self, **faults_settings) -> dict[str, str]:
        env = dict(self.base_env)
        env.update({f"FAULTS_{name.upper()}": str(value) for name, value in faults_settings.items()})
        return env

    def worker(self, name: str, queues: str, *, concurrency: int = 1, **faults_settings) -> subprocess.Popen:
        argv = [
            CELERY, "-A", "vibi", "worker", "-Q", queues, "--pool", "prefork", "-c", str(concurrency),
            "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h", "--without-mingle", "--without-gossip",
            "--without-heartbeat", "-l", "INFO",
        ]  # fmt: skip
        return self.processes.start(name, argv, self.env(**faults_settings))

    def beat(self, **faults_settings) -> subprocess.Popen:
        argv = [
            CELERY, "-A", "vibi", "beat", "-l", "INFO",
            "-s", str(self.tmp_path / f"beat-schedule-{uuid.uuid4().hex[:8]}"),
            "--pidfile", str(self.tmp_path / "beat.pid"),
        ]  # fmt: skip
        return self.processes.start("beat", argv, self.env(**faults_settings))

    def stop_all(self) -> None:
        self.processes.kill_all()


@pytest.fixture
def broker_url() -> str:
    """The broker of this test run (tests/conftest.py gives it its own key prefix)."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("fault tests need CELERY_BROKER_URL=redis://... (the README's test command sets it)")
    return settings.CELERY_BROKER_URL


@pytest.fixture
def workers(processes, perso_sim, broker_url, tmp_path) -> Workers:
    """Worker processes for this test: same test database, broker, storage folder and simulators."""
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "FAULTS_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PERSO_API_BASE_URL": settings.PERSO_API_BASE_URL,
        "PERSO_STORAGE_BASE_URL": settings.PERSO_STORAGE_BASE_URL,
        "PERSO_API_KEY": settings.PERSO_API_KEY,
        "GEMINI_BASE_URL": settings.GEMINI_BASE_URL,
        "GEMINI_API_KEY": settings.GEMINI_API_KEY,
        "SIMULATOR_BASE_URL": settings.SIMULATOR_BASE_URL,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    return Workers(processes, tmp_path=tmp_path, base_env=base_env)


class RedisServer:
    """A redis-server of this test alone, on a free loopback port, keeping nothing on disk."""

    def __init__(self, processes: Processes, folder: Path):
        self.processes = processes
        self.folder = folder
        self.port = free_loopback_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder), "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip
        self.processes.start("redis", argv, dict(os.environ))
        wait_until(lambda: redis_answers_ping(self.port), timeout=10, what="redis-server to answer PING", every=0.05)

    def keys(self) -> int:
        completed = subprocess.run(
            ["redis-cli", "-p", str(self.port), "DBSIZE"], capture_output=True, text=True, timeout=10, check=True
        )
        return int(completed.stdout.strip())

    def kill(self) -> None:
        self.processes.kill("redis")


@pytest.fixture
def own_redis(processes, tmp_path, settings):
    """A private redis-server (never the shared one at 6379); this process's Celery app sends to it
    while the test runs."""
    from vibi.celery import app

    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(processes, folder)
    server.start()
    previous = app.conf.broker_url
    settings.CELERY_BROKER_URL = server.url
    _point_celery_app_at(app, server.url)
    yield server
    _point_celery_app_at(app, previous)


def _point_celery_app_at(app, url: str) -> None:
    """Celery keeps its connection pool (kombu's, one per broker URL) and a producer pool on it once
    it has sent a message; dropping the app's references makes the next send use `url`'s pool.
    (Closing them would close kombu's shared pool of the shared broker for the rest of the run.)"""
    app.conf.update(broker_url=url, broker_write_url=url, broker_read_url=url)
    app._pool = None
    app.amqp._producer_pool = None


SPEECH_SENTENCES = ["Hello and welcome to the show.", "Today we talk about rivers."]  # two: a short upload


@pytest.fixture
def speech_wav(tmp_path, ffmpeg_tools) -> Path:
    """About 6 s of espeak-ng speech (Perso refuses media under 5 s), the transcript in the comment tag."""
    return make_speech(
        tmp_path / "speech.wav", SPEECH_SENTENCES, ffmpeg=ffmpeg_tools[0], sample_rate=22050, pause_sec=1.5
    )


def subtitles_submit(api_client, audio: Path) -> str:
    """POST /api/v2/subtitles as the phone sends it (file part first, spec last); transcription only.
    Each call is its own request (its own Idempotency-Key): the same file again is a new job, not a double tap."""
    with open(audio, "rb") as handle:
        response = api_client.post(
            "/api/v2/subtitles",
            {"file": handle, "spec": json.dumps({"mediaType": "AUDIO", "sourceLanguageCode": "en"})},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
    assert response.status_code == 202, response.content
    return response.json()["jobId"]


def jobs_settled(job_ids: list[str]) -> bool:
    return not Job.objects.filter(public_id__in=job_ids).exclude(status__in=TERMINAL).exists()
