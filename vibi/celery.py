"""The Celery app. Queues, routes and the beat schedule live in `workers/`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibi.settings.base")

app = Celery("vibi")
app.config_from_object("workers.config", namespace=None)

# Log context (request id in task headers) and the worker hosts' metrics exporter.
import apps.observability.celery_signals  # noqa: E402
import apps.observability.worker_exporter  # noqa: E402, F401
