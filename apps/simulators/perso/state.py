"""The Perso simulator's state: one JSON document plus files under PERSO_SIM_DATA_DIR.

The simulator runs inside the web process (threads in tests, maybe several processes in embedded
mode), so every read-modify-write holds a thread lock and an flock on the folder's lock file.
"""

import fcntl
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

_thread_lock = threading.RLock()

DEFAULT_CONTROL = {
    # [{"match": "<path part>", "method": "POST", "status": 500, "code": "F5001", "times": 1, "after": false,
    #   "delay_ms": 0}]; "after": true runs the request first (e.g. a project is created) and then answers
    # the error (after delay_ms), like a gateway that fails or times out after the upstream accepted it.
    "fail_next": [],
    "rate_limit_burst": 0,  # the next n API requests answer 429
    "retry_after_sec": 1,  # Retry-After sent with those 429s
    "transient_500_rate": 0.0,  # share of API requests answering 500 F5001
    "sas_ttl_sec": None,  # SAS lifetime (default PERSO_SIM_SAS_TTL_SEC)
    "sas_expire_next": 0,  # the next n SAS URLs are issued already expired
    "project_fail_at_percent": None,  # new projects fail when they reach this progress
    "fail_mode": "hasFailed",  # or "reasonOnly": progressReason "Failed" with hasFailed false
    "credits_exhausted": False,  # submits answer 402 VT4021
    "slow_ms": 0,  # every API answer waits this long
    "step_sec": None,  # length of one progress stage (default PERSO_SIM_STEP_SEC)
    "storage_lag_sec": 0,  # files appear in download-info this long after Completed
    "queue_max": None,  # projects in processing per space before VT5034 (default PERSO_SIM_QUEUE_MAX)
    "queue_initialised": False,  # a new space has no queue: submits fail until PUT .../queue
    "poll_min_interval_sec": None,  # a project polled sooner than this after its last poll gets 429
    "script_page_size": None,  # caps the page size of the script endpoints (pagination tests)
    "storage_404_next": 0,
    "storage_redirect_host": None,  # storage downloads answer 302 to the same path on this host  # the next n storage downloads 404, and their paths keep 404-ing (CDN cache)
    "max_size_bytes": 2 * 1024 * 1024 * 1024,
    "max_duration_ms": 3 * 3600 * 1000,
    "min_duration_ms": 5000,
}


# What tests read over HTTP (GET /sim/perso/_counters) to check invariants by the simulator's own count.
EMPTY_COUNTERS = {
    "submits": 0,  # requests that reached a submit endpoint (translate, STT, audio separation)
    "projectsCreated": 0,  # projects created by those submits
    "deletes": 0,  # projects deleted (DELETE answered 204)
    "queueInits": 0,  # GET/PUT .../queue
    "polls": 0,  # progress polls answered 200
    "pollsTooSoon": 0,  # progress polls refused with 429 (sooner than the floor after the last poll)
    "methodNotAllowed": 0,  # requests with an undocumented HTTP method (405)
}
# pollsTooSoon of every state folder this process served (a test session's check reads it).
# "expected" is what tests provoked on purpose.
process_counters = {"pollsTooSoon": 0, "expected": 0}


def sim_root() -> Path:
    root = Path(settings.PERSO_SIM_DATA_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _empty_state() -> dict:
    return {
        "control": dict(DEFAULT_CONTROL),
        "nextMediaSeq": 1001,
        "nextProjectSeq": 5001,
        "media": {},
        "projects": {},
        "sidecars": {},
        "cdn404": [],
        "requests": 0,
        "envelopeFlip": 0,
        "counters": dict(EMPTY_COUNTERS),
        "lastPollAt": {},
    }


@contextmanager
def sim_state(*, write: bool = True):
    """The state document, locked; written back on exit when `write`."""
    root = sim_root()
    with _thread_lock, (root / "state.lock").open("a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            state_path = root / "state.json"
            state = json.loads(state_path.read_text()) if state_path.exists() else _empty_state()
            state["control"] = {**DEFAULT_CONTROL, **state.get("control", {})}
            state["counters"] = {**EMPTY_COUNTERS, **state.get("counters", {})}
            state.setdefault("lastPollAt", {})
            yield state
            if write:
                temp_path = root / "state.json.tmp"
                temp_path.write_text(json.dumps(state))
                temp_path.replace(state_path)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def sim_reset() -> None:
    root = sim_root()
    with _thread_lock, (root / "state.lock").open("a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            for name in ("state.json", "blobs", "outputs"):
                target = root / name
                if target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                elif target.exists():
                    target.unlink()
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@contextmanager
def project_lock(project_seq: int):
    """Serialises the (slow) output generation of one project."""
    folder = sim_root() / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{project_seq}.lock").open("a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def count(state: dict, name: str, amount: int = 1) -> None:
    state["counters"][name] = state["counters"].get(name, 0) + amount
    if name in process_counters:
        with _thread_lock:
            process_counters[name] += amount


def control_value(state: dict, name: str):
    value = state["control"].get(name)
    if value is None:
        defaults = {
            "sas_ttl_sec": settings.PERSO_SIM_SAS_TTL_SEC,
            "step_sec": settings.PERSO_SIM_STEP_SEC,
            "queue_max": settings.PERSO_SIM_QUEUE_MAX,
            "poll_min_interval_sec": settings.PERSO_SIM_POLL_MIN_INTERVAL_SEC,
        }
        return defaults.get(name)
    return value
