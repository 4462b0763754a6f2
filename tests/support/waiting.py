"""Waiting for a condition that another process or thread brings about."""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path


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


def wait_group_dead(pgid: int, *, timeout: float = 10.0) -> None:
    """Waits until no process of the group `pgid` is alive, then SIGKILLs whatever is left at the
    timeout. A zombie counts as dead: it holds no connection, socket or file any more, and this
    machine's init reaps orphaned pool children only every second or two (waiting for the group
    to vanish cost ~1.7 s per killed worker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_has_live_member(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _group_has_live_member(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs: the group is alive while any member, zombie or not, is left
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # the process ended while being read
        if int(group) == pgid and state not in ("Z", "X"):
            return True
    return False
