"""The README's test command (`make test`): lint (ruff, import-linter, mypy), then pytest on the real services.

Postgres at 127.0.0.1:5432 is used when reachable (SQLite otherwise, and it says so); Redis at
127.0.0.1:6379 carries the Celery messages of the worker tests. Exit code 5 (no tests ran) fails.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    environment = dict(os.environ)
    environment.setdefault("VIBI_DATA_DIR", str(ROOT / "data" / "test"))
    if "DATABASE_URL" not in environment:
        if reachable("127.0.0.1", 5432):
            environment["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/vibi"
            print("tests: using PostgreSQL at 127.0.0.1:5432 (test database test_vibi)")
        else:
            environment["DATABASE_URL"] = f"sqlite://{ROOT / 'data' / 'test' / 'vibi.sqlite3'}"
            print("tests: PostgreSQL not reachable at 127.0.0.1:5432 — using SQLite")
    if "CELERY_BROKER_URL" not in environment:
        if reachable("127.0.0.1", 6379):
            environment["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/15"
            print("tests: using Redis at 127.0.0.1:6379 (db 15) as the Celery broker")
        else:
            print("tests: Redis not reachable at 127.0.0.1:6379 — worker tests will fail")
    lints = (
        ["ruff", "format", "--check", "--quiet", "."],
        ["ruff", "check", "--quiet", "."],
        ["lint-imports", "--no-cache"],  # the layers contract in pyproject.toml
        ["mypy"],  # [tool.mypy] in pyproject.toml; its cache is .mypy_cache (git-ignored)
    )
    for lint in lints:
        # import-linter and mypy have no quiet mode: their report is shown only when they fail.
        quiet = lint[0] in ("lint-imports", "mypy")
        completed = subprocess.run([str(VENV_BIN / lint[0]), *lint[1:]], cwd=ROOT, capture_output=quiet, text=True)
        if completed.returncode != 0:
            if quiet:
                print(completed.stdout + completed.stderr)
            print(f"tests: `{' '.join(lint)}` failed")
            return completed.returncode
    completed = subprocess.run([str(VENV_BIN / "pytest"), *sys.argv[1:]], cwd=ROOT, env=environment)
    if completed.returncode == 5:
        print("tests: pytest collected no tests — that is a failure")
        return 1
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
