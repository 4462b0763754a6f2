"""The job the current task works on, so upstream clients can link their call log to it."""

from contextvars import ContextVar

current_job_id: ContextVar[int | None] = ContextVar("current_job_id", default=None)
