"""Waiting for a condition that another process or thread brings about."""

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.2):
    """Calls `predicate` every `every` seconds until it returns something truthy, and returns that;
    TimeoutError (naming `what`) once `timeout` seconds have passed without."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
