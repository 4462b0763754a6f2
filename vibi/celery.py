"""The Celery app. Queues, routes and the beat schedule live in `workers/`."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibi.settings.base")

app = Celery("vibi")
app.config_from_object("workers.config", namespace=None)


# --- Workers and beat refuse to start on an incomplete environment (issue 13) ----------------------
@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_to_start_if_misconfigured(**_):
    from apps.core.checks import refuse_to_start_if_misconfigured

    refuse_to_start_if_misconfigured()


# Log context (request id in task headers) and the worker hosts' metrics exporter.
import apps.observability.celery_signals  # noqa: E402
import apps.observability.worker_exporter  # noqa: E402, F401
