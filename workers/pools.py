"""How a worker process runs the tasks of its queues: the pool and its size, declared once.

The I/O-bound queues (upload, perso, gemini, default) spend their time on the network, on the
database and in ffmpeg subprocesses, so one process runs many of their tasks at once in threads;
render is CPU-bound (ffmpeg filter graphs in the task) and keeps a prefork pool, one process per CPU.
Every place that starts a worker (run_platform, deploy/entrypoint.sh, the production-shape tests,
the benchmarks) builds its options here: `python -m workers.pools upload` prints them.
"""

import os
import sys

from vibi.env import env_int
from workers import queues

THREADS = "threads"
PREFORK = "prefork"

# Threads per process of an I/O queue; processes of the render queue (one per CPU by default).
_CONCURRENCY_DEFAULTS = {
    queues.UPLOAD: 8,
    queues.PERSO: 8,
    queues.GEMINI: 4,
    queues.RENDER: len(os.sched_getaffinity(0)),  # the CPUs this process may use, as `nproc` counts them
    queues.DEFAULT: 2,
}


def _configured_concurrency() -> dict[str, int]:
    return {
        queues.UPLOAD: env_int("WORKER_UPLOAD_CONCURRENCY", _CONCURRENCY_DEFAULTS[queues.UPLOAD], minimum=1),
        queues.PERSO: env_int("WORKER_PERSO_CONCURRENCY", _CONCURRENCY_DEFAULTS[queues.PERSO], minimum=1),
        queues.GEMINI: env_int("WORKER_GEMINI_CONCURRENCY", _CONCURRENCY_DEFAULTS[queues.GEMINI], minimum=1),
        queues.RENDER: env_int("WORKER_RENDER_CONCURRENCY", _CONCURRENCY_DEFAULTS[queues.RENDER], minimum=1),
        queues.DEFAULT: env_int("WORKER_DEFAULT_CONCURRENCY", _CONCURRENCY_DEFAULTS[queues.DEFAULT], minimum=1),
    }


def worker_pool(worker_queues: list[str]) -> str:
    """Prefork as soon as a CPU-bound queue is among them, else threads."""
    return PREFORK if queues.RENDER in worker_queues else THREADS


def worker_concurrency(worker_queues: list[str]) -> int:
    """The sum of the queues' sizes, or WORKER_CONCURRENCY when set (the size of this one container)."""
    configured = _configured_concurrency()
    unknown = [name for name in worker_queues if name not in configured]
    if unknown:
        raise ValueError(f"unknown queue(s) {unknown}; the queues are {list(queues.ALL)}")
    return env_int("WORKER_CONCURRENCY", 0, minimum=0) or sum(configured[name] for name in worker_queues)


def worker_options(worker_queues: list[str]) -> list[str]:
    """The `celery worker` options of a process consuming `worker_queues` (pool, size, prefetch)."""
    return [
        "-Q",
        ",".join(worker_queues),
        "--pool",
        worker_pool(worker_queues),
        "--concurrency",
        str(worker_concurrency(worker_queues)),
        "--prefetch-multiplier",
        "1",
    ]


def worker_command(worker_queues: list[str], *, node: str, loglevel: str = "INFO") -> list[str]:
    """The whole `celery worker` command line of one worker process of `worker_queues`."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "vibi",
        "worker",
        *worker_options(worker_queues),
        "-n",
        node,
        "--loglevel",
        loglevel,
    ]


def beat_command(*, schedule_file: str, loglevel: str = "INFO") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "vibi", "beat", "--loglevel", loglevel, "--schedule", schedule_file]


if __name__ == "__main__":
    print(" ".join(worker_options(sys.argv[1:] or [queues.DEFAULT])))
