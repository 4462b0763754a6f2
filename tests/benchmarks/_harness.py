"""Shared pieces of the benchmarks: a throwaway Postgres database, Django set up against it,
a gunicorn server on loopback, and wrk runs parsed into figures."""

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_environment(name: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
        "VIBI_DATA_DIR": str(ROOT / "data" / name),
        "DJANGO_SETTINGS_MODULE": "vibi.settings.base",
        "THROTTLE_SUBMIT": "100000/min",
    }


def recreate_database(name: str) -> None:
    import psycopg

    if "django" in sys.modules and sys.modules["django"].apps.apps.ready:  # a second run in one process
        from django.db import connections

        connections.close_all()

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def gunicorn_server(environment: dict[str, str], *, workers: int = 2, threads: int = 1):
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "vibi.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads), "--log-level", "warning"]
    with _serving(subprocess.Popen(command, cwd=ROOT, env=environment), port) as base:
        yield base


@contextmanager
def simulators_server(environment: dict[str, str], data_dir: Path):
    """The simulators (Perso, Gemini, Google) on their own gunicorn, as `make run` and the production
    shape run them: the upstream's work does not take threads of the web server under test."""
    from apps.simulators import server

    port = free_port()
    process = subprocess.Popen(
        server.command(f"127.0.0.1:{port}"), cwd=ROOT, env=server.environment(data_dir, base=environment)
    )
    with _serving(process, port) as base:
        yield base


@contextmanager
def _serving(process: subprocess.Popen, port: int):
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk(url: str, *, seconds: int = 10, connections: int = 16, headers: dict[str, str] | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latencies = {f"p{pct}": float(value) * scale[unit] for pct, value, unit in _LATENCY.findall(output)}
    non_2xx = _NON_2XX.search(output)
    return {
        "rps": float(_RPS.search(output).group(1)),
        **latencies,
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }
