"""The fields every log line carries (request id, job, user, task, queue, attempt), per request or task.

One context variable holds them, so web threads, Celery pool processes and threads never see each
other's values. `log_context_bind` adds fields for the rest of the current request or task.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_fields: ContextVar[dict | None] = ContextVar("log_fields", default=None)

# The job the current task works on, so upstream clients can link their call log to it.
current_job_id: ContextVar[int | None] = ContextVar("current_job_id", default=None)

# What a client may send as X-Request-ID: short, printable, no spaces or quotes (it is echoed and logged).
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,99}$")


def request_id_from_header(value: str | None) -> str:
    """The client's id when it is sane, a new one otherwise."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


def log_fields() -> dict:
    return _fields.get() or {}


def current_request_id() -> str:
    return log_fields().get("request_id", "")


def log_context_start(**fields) -> Token:
    """A fresh context (a new request or task); pass the token to `log_context_end`."""
    return _fields.set({name: value for name, value in fields.items() if value not in (None, "")})


def log_context_end(token: Token) -> None:
    try:
        _fields.reset(token)
    except ValueError:  # started in another context (a pool that switched threads): just clear
        _fields.set(None)


def log_context_bind(**fields) -> None:
    merged = {**log_fields(), **{name: value for name, value in fields.items() if value not in (None, "")}}
    _fields.set(merged)


@contextmanager
def current_job_bound(job_pk: int) -> Iterator[None]:
    """Links what runs in the block (upstream call logs, chaos points) to the job, for callers outside
    a stage task or the poller, which bind it already."""
    token = current_job_id.set(job_pk)
    try:
        yield
    finally:
        current_job_id.reset(token)


@contextmanager
def job_log_context(job):
    """Binds a job's id, owner and request id for the duration of the block (the poller's per-job work)."""
    previous = log_fields()
    job_token = current_job_id.set(job.pk)
    fields_token = _fields.set(
        {
            **previous,
            "job_id": job.public_id,
            "user_id": job.owner_id,
            "request_id": getattr(job, "request_id", "") or previous.get("request_id", ""),
            "stage": job.stage,
        }
    )
    try:
        yield
    finally:
        _fields.reset(fields_token)
        current_job_id.reset(job_token)
