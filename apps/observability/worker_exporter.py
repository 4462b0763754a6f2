"""Worker hosts: the Celery main process serves its host's series (all pool children, summed from
PROMETHEUS_MULTIPROC_DIR) on METRICS_WORKER_PORT, an internal-only port (METRICS_WORKER_BIND)."""

import logging

from celery import signals
from django.conf import settings

logger = logging.getLogger(__name__)


@signals.worker_init.connect
def _start_exporter(**_kwargs) -> None:
    if not settings.METRICS_WORKER_PORT:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    try:
        start_http_server(settings.METRICS_WORKER_PORT, addr=settings.METRICS_WORKER_BIND, registry=registry)
    except OSError as exc:  # several workers on one host: the first one serves the host's series
        logger.info(
            "metrics exporter port %s taken (%s); another worker of this host serves it",
            settings.METRICS_WORKER_PORT,
            exc,
        )
        return
    logger.info("metrics exporter on %s:%s", settings.METRICS_WORKER_BIND, settings.METRICS_WORKER_PORT)
