"""Shared fixtures: the cast of users, authenticated API clients, the simulators over real HTTP,
and a real Celery worker consuming from Redis."""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import access_token_issue
from tests.gemini.sim import gemini_sim_control

# Several test runs may share this machine's Postgres and Redis (developers in parallel, CI):
# each run gets its own test database, its own Redis key prefix and its own data folder.
RUN_ID = f"p{os.getpid()}"
settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
    **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": f"{RUN_ID}:",
}
settings.DATA_DIR = Path(tempfile.mkdtemp(prefix=f"vibi-test-{RUN_ID}-"))
# Worker processes started by tests inherit the same isolation.
os.environ["CELERY_REDIS_KEY_PREFIX"] = f"{RUN_ID}:"
os.environ["VIBI_DATA_DIR"] = str(settings.DATA_DIR)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        test_settings["NAME"] = f"test_{settings.DATABASES['default']['NAME']}_{RUN_ID}"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and cached upstream answers never leak from one test into another."""
    from django.core.cache import cache

    from apps.accounts.services import user_cache_clear

    cache.clear()
    user_cache_clear()
    yield
    cache.clear()
    user_cache_clear()


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Each test writes its files under its own temp folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "allow_overwrite": True},
        },
    }
    # Django's setting_changed signal resets the storage handler and default_storage.


def _make_user(django_user_model, name: str):
    return django_user_model.objects.create(
        username=f"google:{name}-sub", google_sub=f"{name}-sub", email=f"{name}@example.com", display_name=name.title()
    )


@pytest.fixture
def alice(django_user_model):
    return _make_user(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    return _make_user(django_user_model, "bob")


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_issue(user=user).token}")
    return client


@pytest.fixture
def alice_client(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def simulators(live_server, settings):
    """Points every upstream at the simulators served by the live test server, over real HTTP."""
    base = live_server.url
    settings.SIMULATOR_BASE_URL = base
    settings.PERSO_API_BASE_URL = f"{base}/sim/perso"
    settings.PERSO_STORAGE_BASE_URL = f"{base}/sim/perso-storage"
    settings.PERSO_API_KEY = "sim-perso-key"
    settings.GEMINI_BASE_URL = f"{base}/sim/gemini"
    settings.GEMINI_API_KEY = "sim-gemini-key"
    settings.GOOGLE_CERTS_URL = f"{base}/sim/google/certs"
    # The documented 5 s polling floor, shortened for tests on both sides alike: the poller never
    # polls a project sooner than PERSO_POLL_MIN_INTERVAL_SEC after its last poll, and the simulator
    # answers 429 (and counts pollsTooSoon) below PERSO_SIM_POLL_MIN_INTERVAL_SEC.
    settings.PERSO_POLL_MIN_INTERVAL_SEC = TEST_POLL_FLOOR_SEC
    settings.PERSO_SIM_POLL_MIN_INTERVAL_SEC = TEST_POLL_FLOOR_SEC
    return base


TEST_POLL_FLOOR_SEC = 1.0


@pytest.fixture(scope="session", autouse=True)
def perso_simulator_never_rate_limited_our_polls():
    """Session-wide: no test made the Perso simulator refuse a poll as too soon (429). Tests that
    provoke it on purpose subtract what they caused (`perso_polls_too_soon_expected`)."""
    from apps.simulators.perso.state import process_counters

    yield
    unexpected = process_counters["pollsTooSoon"] - process_counters.get("expected", 0)
    assert unexpected == 0, f"the Perso simulator answered {unexpected} poll(s) with 429 (sooner than the floor)"


@pytest.fixture
def celery_worker_all_queues(transactional_db):
    """A real Celery worker (threads in this process) consuming every queue from the real broker."""
    from celery.contrib.testing.worker import start_worker

    from vibi.celery import app
    from workers import queues

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://... (the README's test command sets it)")
    app.control.purge()
    with start_worker(
        app, pool="threads", concurrency=4, perform_ping_check=False, queues=list(queues.ALL), loglevel="WARNING"
    ) as worker:
        yield worker
    app.control.purge()
    _close_worker_thread_connections()


def _close_worker_thread_connections() -> None:
    """The worker's threads are gone but their database sessions linger until garbage collection;
    end them so the test database can be flushed and dropped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def ffmpeg_tools() -> tuple[str, str]:
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if not ffmpeg or not ffprobe:
        pytest.fail("ffmpeg/ffprobe are required (the README's setup installs them)")
    return ffmpeg, ffprobe


@pytest.fixture
def make_media(tmp_path, ffmpeg_tools):
    """Generates media on the fly with ffmpeg lavfi sources: make_media('tone.wav', seconds=3)."""

    def _make(
        name: str, *, seconds: float = 3.0, video: bool = False, audio: bool = True, size: str = "320x240"
    ) -> Path:
        target = tmp_path / name
        command = [ffmpeg_tools[0], "-y", "-loglevel", "error"]
        if video:
            command += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
        if audio:
            command += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
        if video:
            command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"]
        command += ["-shortest", str(target)]
        subprocess.run(command, check=True, timeout=120)
        return target

    return _make


@dataclass
class PersoSim:
    base_url: str

    def control(self, **changes) -> dict:
        response = requests.post(f"{self.base_url}/sim/perso/_control", json=changes, timeout=10)
        response.raise_for_status()
        return response.json()

    def counters(self) -> dict:
        """The simulator's own counts (projects created, submits, deletes, polls, pollsTooSoon…)."""
        response = requests.get(f"{self.base_url}/sim/perso/_counters", timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def perso_sim(simulators, settings, tmp_path) -> PersoSim:
    """The simulator with its own state folder and fast timings; the client retries quickly."""
    settings.PERSO_SIM_DATA_DIR = str(tmp_path / "sim-perso")
    settings.PERSO_SIM_STEP_SEC = 0.2
    settings.PERSO_RETRY_BASE_MS = 20
    settings.PERSO_STORAGE_READY_WAIT_SEC = 0
    settings.LANGUAGES_CACHE_SEC = 0
    return PersoSim(base_url=simulators)


@pytest.fixture
def gemini_sim(simulators, settings):
    """The Gemini simulator, reset, with retry backoff shortened so failures retry fast."""
    settings.GEMINI_BACKOFF_BASE_MS = 10
    settings.GEMINI_BACKOFF_MAX_MS = 50
    gemini_sim_control(simulators, reset=True)
    yield simulators
    gemini_sim_control(simulators, reset=True)


SPEECH_SENTENCES = ["Hello and welcome to the show.", "Today we talk about rivers.", "Thank you for watching."]


def make_speech(
    target: Path, sentences: list[str], *, ffmpeg: str = "ffmpeg", sample_rate: int = 44100, pause_sec: float = 1.2
) -> Path:
    """espeak-ng speech of `sentences` with a pause after each, the transcript in the comment tag
    (the Perso simulator reads it as the STT text)."""
    parts = []
    for index, sentence in enumerate(sentences):
        part = target.with_name(f"{target.stem}-part{index}.wav")
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(part), sentence], check=True, timeout=60)
        parts.append(part)
    command = [ffmpeg, "-y", "-loglevel", "error"]
    filters = []
    for index, part in enumerate(parts):
        command += ["-i", str(part)]
        filters.append(f"[{index}:a]aresample={sample_rate},apad=pad_dur={pause_sec}[p{index}]")
    labels = "".join(f"[p{index}]" for index in range(len(parts)))
    filters.append(f"{labels}concat=n={len(parts)}:v=0:a=1[out]")
    command += ["-filter_complex", ";".join(filters), "-map", "[out]"]
    command += ["-metadata", f"comment={'|'.join(sentences)}", str(target)]
    subprocess.run(command, check=True, timeout=60)
    return target


@pytest.fixture
def speech_wav(tmp_path, ffmpeg_tools) -> Path:
    """About 8 s of espeak-ng speech: three sentences with pauses, the transcript in the comment tag."""
    return make_speech(tmp_path / "speech.wav", SPEECH_SENTENCES, ffmpeg=ffmpeg_tools[0])
