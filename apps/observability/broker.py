"""Messages waiting in each Celery queue, asked of the broker (Redis LLEN, the file-system
transport's folder), whatever the transport."""

import logging

from vibi.celery import app
from workers import queues

logger = logging.getLogger(__name__)


def queue_depths() -> dict[str, int | None]:
    """Waiting messages per queue; None for a queue the broker could not answer for."""
    depths: dict[str, int | None] = {}
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel = connection.default_channel
            for name in queues.ALL:
                try:
                    depths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:  # noqa: BLE001 - a queue nobody declared yet (the error type is the transport's)
                    depths[name] = 0
    except Exception:
        logger.warning("broker unreachable for queue depths", exc_info=True)
        return dict.fromkeys(queues.ALL)
    return depths
