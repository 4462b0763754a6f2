"""The simulators server: `python -m apps.simulators.server --bind 127.0.0.1:8001 [--data-dir DIR]`.

Perso, Gemini and Google sign-in served by a gunicorn of their own (own port, own threads, own data
folder), so a request of the platform that calls an upstream never waits on a thread of its own
pool. `make run` starts it with the rest; the production-shaped test runs it as its own host.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def command(bind: str, threads: int = 32) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "vibi.simulators_wsgi",
        "--config", "python:vibi.gunicorn_config",
        "--bind", bind, "--workers", "1", "--threads", str(threads), "--timeout", "900",
        "--chdir", str(ROOT),
    ]  # fmt: skip


def environment(data_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """One worker process: the Perso simulator keeps its state behind an in-process lock."""
    env = dict(os.environ if base is None else base)
    env.update(
        VIBI_DATA_DIR=str(data_dir),
        VIBI_EMBEDDED="true",
        DJANGO_SETTINGS_MODULE="vibi.settings.simulators",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "STORAGE_BACKEND"):
        env.pop(name, None)  # the simulators keep nothing in the platform's stores
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1:8001")
    parser.add_argument("--data-dir", default=str(ROOT / "data" / "simulators"))
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    os.execvpe(sys.executable, command(args.bind, args.threads), environment(Path(args.data_dir).resolve()))  # noqa: S606 - exec of an argv list, no shell


if __name__ == "__main__":
    main()
