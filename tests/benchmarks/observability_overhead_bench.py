"""CPU cost per request of the request-id middleware with its log line and of django-prometheus.

Run: .venv/bin/python tests/benchmarks/observability_overhead_bench.py
In-process (Django test client, no network), CPU time (process_time) so other load on the machine
moves it less; GET /healthz, the cheapest view, so the added cost shows at its largest share.
"""

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 3000
OURS = (
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.observability.middleware.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
)


def cpu_us_per_request(client) -> float:
    client.get("/healthz")
    started = time.process_time()
    for _ in range(REQUESTS):
        client.get("/healthz", HTTP_X_REQUEST_ID="phone-0123456789")
    return (time.process_time() - started) / REQUESTS * 1e6


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "vibi.settings.base",
            "VIBI_DATA_DIR": tempfile.mkdtemp(prefix="vibi-bench-obs-"),
            "LOG_FORMAT": "json",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    for handler in logging.getLogger().handlers:
        handler.stream = open(os.devnull, "w")
    variants = {
        "without request-id/log and prometheus": [m for m in settings.MIDDLEWARE if m not in OURS],
        "request-id + JSON log line only": [m for m in settings.MIDDLEWARE if "django_prometheus" not in m],
        "django-prometheus only": [m for m in settings.MIDDLEWARE if "RequestIdMiddleware" not in m],
        "both (as deployed)": list(settings.MIDDLEWARE),
    }
    for name, middleware in variants.items():
        with override_settings(MIDDLEWARE=middleware):
            runs = sorted(cpu_us_per_request(Client()) for _ in range(3))
        print(f"{name:40} {runs[1]:6.0f} us CPU per request (median of 3 x {REQUESTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
