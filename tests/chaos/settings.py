"""Settings of every process of a chaos run (web, workers, beat, the harness itself).

The test settings plus the fast timings of the fault tests (values production minimums forbid:
a 10 s lease, a reconciler every second, Perso polled every second), and the run's own folders,
database and broker from the environment the harness sets (tests/chaos/harness.py).
"""

import os
from pathlib import Path

from vibi.settings.test import *  # noqa: F403
from vibi.settings.test import STORAGES

MEDIA_ROOT = Path(os.environ["CHAOS_MEDIA_ROOT"])
STORAGES = {
    **STORAGES,
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    },
}
PERSO_SIM_DATA_DIR = os.environ["CHAOS_SIM_DIR"]
PERSO_SIM_STEP_SEC = 0.5
PERSO_SIM_QUEUE_MAX = 10_000

JOB_LEASE_SEC = 10
JOB_REDISPATCH_AFTER_SEC = 20
RECONCILE_INTERVAL_SEC = 1
POLL_TICK_SEC = 1
PERSO_POLL_FIRST_DELAY_SEC = 1
PERSO_POLL_MAX_INTERVAL_SEC = 2
PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC = 2
PERSO_MAX_IN_FLIGHT = 1000
PERSO_RETRY_BASE_MS = 50
PERSO_STORAGE_READY_WAIT_SEC = 0
GEMINI_BACKOFF_BASE_MS = 10
GEMINI_BACKOFF_MAX_MS = 50
LANGUAGES_CACHE_SEC = 3600
