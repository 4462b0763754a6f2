"""Read-only queries of jobs."""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from django.db import connection

from apps.core.error_codes import ErrorCode
from apps.core.errors import NotFound
from apps.jobs.models import Job, JobKind
from apps.observability.context import log_context_bind

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # django-stubs' name for AUTH_USER_MODEL (no runtime name)


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

    Polls are the platform's hottest path (every phone polls every 2–10 s); one lookup by the unique
    `public_id` index in plain SQL costs a fraction of the ORM's query compilation, and on Postgres
    it is a prepared statement, planned once per connection (see docs/performance.md)."""
    parameters: list[str | int] = [public_id, owner_id, kind]
    if connection.vendor == "postgresql":
        # Django's cursors bind parameters client-side, which cannot prepare: a server-binding cursor
        # on the same connection (same adapters and transaction), after the checks Django's would run.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_STATUS_SNAPSHOT_SQL, parameters, prepare=True)
            row = cursor.fetchone()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_STATUS_SNAPSHOT_SQL, parameters)
            row = cursor.fetchone()
    if row:
        log_context_bind(job_id=public_id)
    return JobStatusSnapshot(*row) if row else None


# How a 404 names a job of each kind ("Subtitle job not found: sub-…").
JOB_NOUNS: dict[str, str] = {
    JobKind.SUBTITLES: "Subtitle job",
    JobKind.AUTODUB: "AutoDub job",
    JobKind.SEPARATION: "Separation job",
    JobKind.MIX: "Mix job",
    JobKind.RENDER: "Render job",
}


def job_not_found(*, kind: str, public_id: str) -> NotFound:
    return NotFound(ErrorCode.NOT_FOUND, f"{JOB_NOUNS[kind]} not found: {public_id}")


def owned_job_get(*, owner: "_User", public_id: str, kind: str) -> Job:
    """The caller's job of `kind`, else 404 (another user's id, or a job of another kind, is not
    found, never forbidden)."""
    job = Job.objects.filter(public_id=public_id, owner=owner, kind=kind).first()
    if job is None:
        raise job_not_found(kind=kind, public_id=public_id)
    return job


def job_of_kind_get(*, public_id: str, kind: str) -> Job:
    """Any user's job of `kind`, else 404: for a signed download, whose token already names the job."""
    job = Job.objects.filter(public_id=public_id, kind=kind).first()
    if job is None:
        raise job_not_found(kind=kind, public_id=public_id)
    return job
