"""Read-only queries of jobs."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.observability.context import log_context_bind


@dataclass(frozen=True)
class JobStatusSnapshot:
    public_id: str
    status: str
    progress: int
    progress_reason: str
    error_code: str
    error_detail: str
    started_at: datetime | None


_STATUS_SNAPSHOT_SQL = (
    "SELECT public_id, status, progress, progress_reason, error_code, error_detail, started_at "
    "FROM jobs_job WHERE public_id = %s AND owner_id = %s AND kind = %s"
)


def job_status_snapshot(*, owner_id: int, public_id: str, kind: str) -> JobStatusSnapshot | None:
    """The few columns a status poll answers with, for the caller's own job (None otherwise).

    Polls are the platform's hottest path (every phone polls every 2–10 s); one indexed lookup in
    plain SQL costs a fraction of the ORM's query compilation (see docs/performance.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_SNAPSHOT_SQL, [public_id, owner_id, kind])
        row = cursor.fetchone()
    if row:
        log_context_bind(job_id=public_id)
    return JobStatusSnapshot(*row) if row else None
