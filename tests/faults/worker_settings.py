"""Settings of the worker and beat PROCESSES the fault tests start (DJANGO_SETTINGS_MODULE).

The test settings plus timings no environment variable may set: the production minimums
(`JOB_LEASE_SEC` ≥ 10, `PERSO_POLL_FIRST_DELAY_SEC` ≥ 5, …) protect real deployments from
hammering Perso or stealing live jobs, but here they would turn each fault test into minutes of
sleeping. The simulator finishes a project in about a second and does not rate-limit polling, so
the poller ticks every second, and a dead worker's lease (or a message lost with the broker) is
noticed within a few seconds. Each value can be changed per test through a FAULTS_* variable.
"""

import os
from pathlib import Path

from vibi.settings.test import *  # noqa: F403
from vibi.settings.test import STORAGES


def _number(name: str, default: float) -> float:
    return float(os.environ.get(f"FAULTS_{name}", default))


# Worker and test share one storage folder (the test's own MEDIA_ROOT).
MEDIA_ROOT = Path(os.environ["FAULTS_MEDIA_ROOT"])
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    },
}

JOB_LEASE_SEC = int(_number("JOB_LEASE_SEC", 10))
JOB_REDISPATCH_AFTER_SEC = int(_number("JOB_REDISPATCH_AFTER_SEC", 10))
RECONCILE_INTERVAL_SEC = int(_number("RECONCILE_INTERVAL_SEC", 1))
POLL_TICK_SEC = int(_number("POLL_TICK_SEC", 1))

PERSO_POLL_FIRST_DELAY_SEC = _number("PERSO_POLL_FIRST_DELAY_SEC", 1)
PERSO_POLL_MAX_INTERVAL_SEC = _number("PERSO_POLL_MAX_INTERVAL_SEC", 1)
# The same shortened polling floor as the simulator of the test process (tests/conftest.py).
PERSO_POLL_MIN_INTERVAL_SEC = _number("PERSO_POLL_MIN_INTERVAL_SEC", 1)
PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC = _number("PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC", 1)
PERSO_MAX_IN_FLIGHT = int(_number("PERSO_MAX_IN_FLIGHT", 3))
PERSO_RETRY_BASE_MS = int(_number("PERSO_RETRY_BASE_MS", 20))
PERSO_STORAGE_READY_WAIT_SEC = 0
GEMINI_BACKOFF_BASE_MS = 10
GEMINI_BACKOFF_MAX_MS = 50
