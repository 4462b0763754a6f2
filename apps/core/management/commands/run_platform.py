"""`manage.py run_platform`: the whole platform on one machine — web, one worker per queue, beat.

Migrates, makes sure an admin user exists (its password is printed), then supervises the
processes until Ctrl-C. The worker command lines are the same ones docs/operations.md gives for
running each worker type on its own hosts.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandParser, call_command

from apps.simulators import server as simulators_server
from workers import queues

WORKER_CONCURRENCY = {queues.UPLOAD: 2, queues.PERSO: 2, queues.GEMINI: 2, queues.RENDER: 1, queues.DEFAULT: 1}


def worker_command(queue: str, concurrency: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "vibi",
        "worker",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--concurrency",
        str(concurrency),
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        "INFO",
    ]


def web_command(*, host: str, port: int) -> list[str]:
    """The embedded web server: buffering (slow clients hold no thread), read deadlines, error-shaped refusals."""
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve_web", "--host", host, "--port", str(port)]


class Command(BaseCommand):
    help = "Runs web + one Celery worker per queue + beat on this machine (the embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulators-port", type=int, default=None, help="default: --port + 1")

    def handle(self, *args: str, host: str, port: int, simulators_port: int | None, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        admin_password = self._ensure_admin()
        web = web_command(host=host, port=port)
        commands = {"web": web}
        commands |= {f"worker-{queue}": worker_command(queue, count) for queue, count in WORKER_CONCURRENCY.items()}
        commands["beat"] = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vibi",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(settings.DATA_DIR / "celerybeat-schedule"),
        ]
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # --- The simulators in their own process (issue 13) ---------------------------------------
        # Own port, own threads, own data folder: an upstream call of web (chat → Gemini, sign-in →
        # Google certs) never waits on a thread of web's own pool. Everything reaches them through
        # SIMULATOR_BASE_URL, from which the upstream base URLs default.
        simulators_bind = f"{host}:{simulators_port or port + 1}"
        simulators_url = f"http://{simulators_bind}"
        if settings.SIMULATORS_ENABLED and "SIMULATOR_BASE_URL" not in os.environ:
            environment["SIMULATOR_BASE_URL"] = simulators_url
        environment["GUNICORN_CMD_ARGS"] = "--config python:vibi.gunicorn_config"
        processes = {
            "simulators": subprocess.Popen(
                simulators_server.command(simulators_bind),
                env=simulators_server.environment(settings.DATA_DIR / "simulators"),
            )
        }
        # ---------------------------------------------------------------------------------------
        processes |= {name: subprocess.Popen(command, env=environment) for name, command in commands.items()}
        base = f"http://{host}:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "vibi platform is running (embedded default: SQLite, file-system broker, simulators)",
                    f"  Swagger UI : {base}/swagger",
                    f"  OpenAPI    : {base}/api/schema",
                    f"  Admin      : {base}/admin/   user: admin   password: {admin_password}",
                    f"  Health     : {base}/healthz  {base}/readyz",
                    f"  Simulators : {simulators_url}/sim/ (Perso, Gemini, Google sign-in; their own process)",
                    f"  Sign in    : POST {simulators_url}/sim/google/token {{sub,email,aud}} → idToken,"
                    " then POST /api/v2/auth/google",
                    "Ctrl-C stops everything.",
                    "",
                ]
            )
        )
        self._supervise(processes)

    def _ensure_admin(self) -> str:
        password_file = settings.DATA_DIR / "admin-password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        admin, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@localhost"})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        return password

    def _supervise(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping")
                        stopping = True
                time.sleep(1)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 20
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
