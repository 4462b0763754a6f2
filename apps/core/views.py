"""Liveness and readiness probes."""

import logging

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse

from vibi.celery import app

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "broker": _check_broker(), "storage": _check_storage()}
    ready = all(checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readyz: database check failed: %s", exc)
        return False


def _check_broker() -> bool:
    try:
        with app.connection_for_write() as broker_connection:
            broker_connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as exc:  # noqa: BLE001
        logger.warning("readyz: broker check failed: %s", exc)
        return False


def _check_storage() -> bool:
    try:
        default_storage.exists("readyz-probe")
        return True
    except Exception as exc:  # noqa: BLE001
        logger.warning("readyz: storage check failed: %s", exc)
        return False
