"""The abuse suite's harness: the embedded web server exactly as `make run` starts it (run_platform's
web command line), as a real process on a free loopback port, sharing the test's database, broker,
data folder and file cache, and serving its own simulators. Every process is killed afterwards."""

import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from apps.accounts.services import access_token_issue
from apps.core.management.commands.run_platform import web_command
from apps.simulators import server as simulators_server
from tests.faults.conftest import Processes, child_database_url, free_loopback_port, wait_until
from tests.support.network import SilentUpstream, healthz_answers

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class WebServer:
    def __init__(self, processes: Processes, *, env_overrides: dict[str, str]):
        self.processes = processes
        self.port = free_loopback_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "vibi.settings.test",
            "DATABASE_URL": child_database_url(),
            "VIBI_DATA_DIR": str(settings.DATA_DIR),
            "PUBLIC_BASE_URL": self.base,
            "SIMULATOR_BASE_URL": self.base,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PERSO_SIM_STEP_SEC": "0.2",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "AUTH_JWT_SECRET": settings.AUTH_JWT_SECRET,
            "SEPARATION_SIGNING_SECRET": settings.SIGNING_SECRET,
            **env_overrides,
        }

    def start(self, argv: list[str] | None = None) -> "WebServer":
        argv = argv or web_command(host="127.0.0.1", port=self.port)
        self.processes.start(f"web-{self.port}", argv, self.env)
        wait_until(lambda: healthz_answers(self.base), timeout=60, what="the web server to answer /healthz", every=0.1)
        return self

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def raw_connection(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)


@pytest.fixture
def abuse_processes(transactional_db, tmp_path, request):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    shutil.rmtree(Path(settings.DATA_DIR) / "cache", ignore_errors=True)  # the servers' shared cache
    harness = Processes(log_dir)
    yield harness
    harness.kill_all()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(harness.log_tails(80))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def start_server(abuse_processes):
    """start_server(**settings) → a running WebServer with those environment settings."""

    def start(**env_overrides: str) -> WebServer:
        return WebServer(abuse_processes, env_overrides={k: str(v) for k, v in env_overrides.items()}).start()

    return start


@pytest.fixture
def production_web(abuse_processes) -> WebServer:
    """The production web command line (gunicorn with vibi/gunicorn_config.py), same database and secrets."""
    web = WebServer(abuse_processes, env_overrides={})
    gunicorn = [
        sys.executable, "-m", "gunicorn", "-c", "python:vibi.gunicorn_config", "vibi.wsgi",
        "--bind", f"127.0.0.1:{web.port}", "--workers", "1", "--threads", "4",
    ]  # fmt: skip
    return web.start(gunicorn)


@pytest.fixture
def server(start_server) -> WebServer:
    return start_server()


@pytest.fixture(scope="module")
def module_server(django_db_setup, tmp_path_factory) -> Iterator[WebServer]:
    """One embedded web server for a whole module whose tests only send it requests and keep no
    state that matters to the next test: started once instead of per test. Its tests take
    `transactional_db` (see `shared_server`), so the users they make are committed for it and
    flushed after each test; the server holds no transaction open between requests. Default
    settings but AUTH_USER_CACHE_SEC=0: each test makes its `alice` again (same Google subject, new
    row), which a per-process user cache would answer with the row of the test before."""
    harness = Processes(tmp_path_factory.mktemp("module-server-logs"))
    try:
        yield WebServer(harness, env_overrides={"AUTH_USER_CACHE_SEC": "0"}).start()
    except BaseException:
        print(harness.log_tails(80))
        raise
    finally:
        harness.kill_all()


@pytest.fixture
def shared_server(module_server, transactional_db) -> WebServer:
    return module_server


@pytest.fixture(scope="module")
def own_simulators(tmp_path_factory) -> Iterator[str]:
    """The simulators in a process of their own, as `make run` serves them (apps/simulators/server.py),
    for one module; its base URL. A web server whose SIMULATOR_BASE_URL is itself serves its own
    upstream calls (a submit's Perso language check) from its own threads: once WEB_THREADS
    requests wait on such a call at once, none is left to answer it and each waits out
    PERSO_READ_TIMEOUT_SEC (60 s), then skips the check."""
    harness = Processes(tmp_path_factory.mktemp("simulators-logs"))
    port = free_loopback_port()
    env = simulators_server.environment(
        tmp_path_factory.mktemp("simulators-data"), {**os.environ, "PERSO_SIM_STEP_SEC": "0.2"}
    )
    harness.start("simulators", simulators_server.command(f"127.0.0.1:{port}", threads=16), env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthz_answers(base), timeout=60, what="the simulators to answer /healthz", every=0.1)
        yield base
    except BaseException:
        print(harness.log_tails(80))
        raise
    finally:
        harness.kill_all()


def bearer_for(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token_issue(user=user).token}"}


def elapsed(call) -> tuple[float, object]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


@pytest.fixture
def silent_upstream():
    upstream = SilentUpstream()
    yield upstream
    upstream.close()
