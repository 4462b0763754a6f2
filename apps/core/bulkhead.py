"""Bulkheads: a cap on how many requests of one kind a web process serves at once, so a slow
upstream behind one endpoint can never take every thread (status polls, admin and /healthz keep theirs)."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from apps.core.error_codes import ErrorCode
from apps.core.errors import ServiceUnavailable


class BulkheadFull(ServiceUnavailable, code=ErrorCode.BUSY):
    def __init__(self, detail: str, *, retry_after_sec: int):
        super().__init__(detail=detail)
        self.retry_after_sec = retry_after_sec


class Bulkhead:
    def __init__(self, *, name: str, limit: Callable[[], int]):
        self.name = name
        self._limit = limit
        self._semaphore: threading.BoundedSemaphore | None = None
        self._lock = threading.Lock()

    def _slots(self) -> threading.BoundedSemaphore:
        with self._lock:
            if self._semaphore is None:
                self._semaphore = threading.BoundedSemaphore(self._limit())
            return self._semaphore

    @contextmanager
    def slot(self, *, retry_after_sec: int) -> Iterator[None]:
        """Holds one slot for the block, or raises BulkheadFull (503) at once when none is free."""
        slots = self._slots()
        if not slots.acquire(blocking=False):
            raise BulkheadFull(
                f"Too many {self.name} requests in progress; try again shortly", retry_after_sec=retry_after_sec
            )
        try:
            yield
        finally:
            slots.release()
