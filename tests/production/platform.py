"""The platform as separate hosts on one machine: every process in its own session, its own empty
working directory and its own data folder, sharing nothing but Postgres, Redis, an S3 server (moto
in server mode) and the simulators server, all reached over loopback URLs."""

import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import psycopg
import requests

from tests.faults.conftest import free_loopback_port, wait_until
from workers.pools import worker_command

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
QUEUES = ("upload", "perso", "gemini", "render", "default")
CLIENT_ID = "production-test.apps.googleusercontent.com"


class Host:
    """One OS process of the platform with a private working directory and data folder."""

    def __init__(self, name: str, root: Path, argv: list[str], env: dict[str, str]):
        self.name = name
        self.cwd = root / name / "cwd"
        self.data = root / name / "data"
        self.cwd.mkdir(parents=True)
        self.log = root / name / "output.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=self.cwd, env={**env, "VIBI_DATA_DIR": str(self.data)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signals the whole process group (main process, pool children, ffmpeg) and reaps it."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def files_written(self) -> list[Path]:
        return sorted(path for path in (self.cwd, self.data) for path in path.rglob("*") if path.is_file())


class Platform:
    def __init__(self, root: Path, admin_database_url: str):
        self.root = root
        self.hosts: dict[str, Host] = {}
        self.run_id = uuid.uuid4().hex[:10]
        self.admin_database_url = admin_database_url
        self.database = f"vibi_production_{self.run_id}"
        self.bucket = f"vibi-{self.run_id}"
        self.s3_port = free_loopback_port()
        self.simulators_port = free_loopback_port()
        self.web_port = free_loopback_port()
        self.secrets_dir = root / "secrets"
        self.secrets_dir.mkdir(parents=True)
        self.perso_key = secrets.token_urlsafe(16)
        self.gemini_key = secrets.token_urlsafe(16)

    # --- shared services --------------------------------------------------------------------------
    def start_shared_services(self) -> None:
        with psycopg.connect(self.admin_database_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)], dict(os.environ))
        simulators_env = {
            "PATH": os.environ["PATH"],
            "PERSO_SIM_API_KEY": self.perso_key,
            "GEMINI_SIMULATOR_API_KEY": self.gemini_key,
            "PERSO_SIM_STEP_SEC": "0.2",
        }
        self.start(
            "simulators",
            [sys.executable, "-m", "apps.simulators.server", "--bind", f"127.0.0.1:{self.simulators_port}",
             "--data-dir", str(self.root / "simulators" / "data"), "--threads", "16"],
            {**simulators_env, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        wait_until(lambda: _answers(f"http://127.0.0.1:{self.s3_port}/"), timeout=60, what="the S3 server")
        self.s3().create_bucket(Bucket=self.bucket)
        wait_until(lambda: _answers(f"{self.simulators_url}/healthz"), timeout=60, what="the simulators")

    @property
    def simulators_url(self) -> str:
        return f"http://127.0.0.1:{self.simulators_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def s3(self):
        return boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.s3_port}", aws_access_key_id="vibi",
            aws_secret_access_key="vibi-secret", region_name="us-east-1",
        )  # fmt: skip

    def bucket_keys(self) -> list[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    # --- the platform's own processes ----------------------------------------------------------------
    def env(self) -> dict[str, str]:
        for name in ("django_secret_key", "auth_jwt_secret", "signing_secret", "s3_secret_key"):
            path = self.secrets_dir / name
            if not path.exists():
                path.write_text("vibi-secret" if name == "s3_secret_key" else secrets.token_urlsafe(48))
        sims = self.simulators_url
        return {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "VIBI_EMBEDDED": "false",
            "DJANGO_SECRET_KEY_FILE": str(self.secrets_dir / "django_secret_key"),
            "AUTH_JWT_SECRET_FILE": str(self.secrets_dir / "auth_jwt_secret"),
            "SEPARATION_SIGNING_SECRET_FILE": str(self.secrets_dir / "signing_secret"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "NUM_PROXIES": "1",
            "PUBLIC_BASE_URL": self.web_url,
            "DATABASE_URL": f"{self.admin_database_url.rsplit('/', 1)[0]}/{self.database}",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
            "CELERY_REDIS_KEY_PREFIX": f"{self.run_id}:",
            "CACHE_URL": "redis://127.0.0.1:6379/15",
            "CACHE_KEY_PREFIX": f"{self.run_id}-cache",
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            # Another name of the same server: links are signed for the public name, not the internal one.
            "S3_PUBLIC_ENDPOINT_URL": f"http://localhost:{self.s3_port}",
            "S3_ACCESS_KEY_ID": "vibi",
            "S3_SECRET_ACCESS_KEY_FILE": str(self.secrets_dir / "s3_secret_key"),
            "GOOGLE_OAUTH_CLIENT_IDS": CLIENT_ID,
            "GOOGLE_CERTS_URL": f"{sims}/sim/google/certs",
            "PERSO_API_BASE_URL": f"{sims}/sim/perso",
            "PERSO_STORAGE_BASE_URL": f"{sims}/sim/perso-storage",
            "PERSO_API_KEY": self.perso_key,
            "PERSO_SPACE_SEQ": "1",
            "PERSO_RETRY_BASE_MS": "50",
            "PERSO_STORAGE_READY_WAIT_SEC": "0",
            "GEMINI_API_KEY": self.gemini_key,
            "GEMINI_BASE_URL": f"{sims}/sim/gemini",
            "POLL_TICK_SEC": "1",
            "RECONCILE_INTERVAL_SEC": "2",
            "JOB_LEASE_SEC": "10",
            "JOB_REDISPATCH_AFTER_SEC": "30",
        }

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Host:
        assert name not in self.hosts or self.hosts[name].process.poll() is not None, name
        self.hosts[name] = Host(name, self.root, argv, env)
        return self.hosts[name]

    def migrate(self) -> None:
        host = self.start("migrate", [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"], self.env())
        assert host.process.wait(timeout=180) == 0, host.log.read_text()

    def start_web(self) -> None:
        self.start(
            "web",
            [str(BIN / "gunicorn"), "--config", "python:vibi.gunicorn_config", "--bind", f"127.0.0.1:{self.web_port}",
             "--workers", "2", "--threads", "4", "--timeout", "300", "vibi.wsgi"],
            self.env(),
        )  # fmt: skip
        wait_until(lambda: _answers(f"{self.web_url}/healthz"), timeout=90, what="web")

    def start_worker(self, queue: str, host_name: str | None = None) -> Host:
        # The image's worker command (workers/pools.py: threads for the I/O queues, prefork for render).
        argv = [
            *worker_command([queue], node=f"{queue}-{uuid.uuid4().hex[:6]}@%h"),
            "--without-mingle",
            "--without-gossip",
        ]
        return self.start(host_name or f"worker-{queue}", argv, self.env())

    def start_beat(self) -> None:
        self.start("beat", [sys.executable, "-m", "celery", "-A", "vibi", "beat", "-l", "INFO"], self.env())

    def stop(self) -> None:
        for host in self.hosts.values():
            if host.process.poll() is None:
                host.kill()
        try:
            with psycopg.connect(self.admin_database_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error:
            pass

    def sql(self, query: str, *params):
        with psycopg.connect(self.env()["DATABASE_URL"]) as connection:
            return connection.execute(query, params).fetchall()

    def logs(self, lines: int = 30) -> str:
        parts = []
        for host in self.hosts.values():
            text = host.log.read_text(errors="replace").splitlines() if host.log.exists() else []
            parts.append(f"--- {host.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False
