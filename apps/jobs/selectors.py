"""Read-only queries of jobs."""

import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq
from psycopg.adapt import Transformer

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
# The same statement, prepared on each Postgres connection under its own name on first use.
_STATUS_STATEMENT_NAME = b"vibi_job_status_snapshot"
_STATUS_STATEMENT_SQL = _STATUS_SNAPSHOT_SQL.replace("%s", "$1", 1).replace("%s", "$2", 1).replace("%s", "$3", 1)
_status_statement_prepared: "weakref.WeakSet[psycopg.Connection[Any]]" = weakref.WeakSet()


def job_status_snapshot(*, owner_id: int, public_id: str, kind: str) -> JobStatusSnapshot | None:
    """The few columns a status poll answers with, for the caller's own job (None otherwise).

    Polls are the platform's hottest path (every phone polls every 2–10 s); one lookup by the unique
    `public_id` index in plain SQL costs a fraction of the ORM's query compilation, and on Postgres
    it is a prepared statement, planned once per connection (see docs/performance.md)."""
    database = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` looks the thread's connection up again
    if database.vendor == "postgresql":
        row = _postgres_status_row(database, public_id, owner_id, kind)
    else:
        with database.cursor() as cursor:
            cursor.execute(_STATUS_SNAPSHOT_SQL, [public_id, owner_id, kind])
            row = cursor.fetchone()
    if row:
        log_context_bind(job_id=public_id)
    return JobStatusSnapshot(*row) if row else None


def _postgres_status_row(
    database: BaseDatabaseWrapper, public_id: str, owner_id: int, kind: str
) -> tuple[Any, ...] | None:
    """The status statement run through libpq on Django's connection, after the checks a Django
    cursor runs and inside its error mapping (a dropped connection is an OperationalError → 503).

    psycopg's cursor machinery (query conversion, its prepared-statement bookkeeping, the
    non-blocking wait loop) cost a poll about three times the round trip itself; libpq's blocking
    call releases the GIL as psycopg's wait does. Parameters are sent as text and the row is loaded by
    psycopg's own loaders (the connection's adapters), so the values are those of a psycopg cursor."""
    database.close_if_health_check_failed()
    database.ensure_connection()
    database.validate_no_broken_transaction()
    with database.wrap_database_errors:
        if "\x00" in public_id:  # what psycopg's text dumper refuses too (DataError → 400)
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        pg_connection: psycopg.Connection[Any] = database.connection
        with pg_connection.lock:
            result = _status_statement_run(pg_connection, [public_id.encode(), str(owner_id).encode(), kind.encode()])
        _checked(pg_connection, result)
        if not result.ntuples:
            return None
        loader = Transformer(pg_connection)
        loader.set_pgresult(result)
        return loader.load_row(0, tuple)


def _status_statement_run(pg_connection: "psycopg.Connection[Any]", parameters: list[bytes]) -> pq.abc.PGresult:
    """The statement's result, prepared first on a connection that has not got it. A session that lost
    it (DEALLOCATE, DISCARD ALL) gets it again: at once outside a transaction; inside one, where the
    error has aborted the transaction, the error is raised and the next call prepares it."""
    pgconn = pg_connection.pgconn
    for _ in range(2):
        if pg_connection not in _status_statement_prepared:
            _checked(pg_connection, pgconn.prepare(_STATUS_STATEMENT_NAME, _STATUS_STATEMENT_SQL.encode()))
            _status_statement_prepared.add(pg_connection)
        result = pgconn.exec_prepared(_STATUS_STATEMENT_NAME, parameters)
        if result.status == pq.ExecStatus.TUPLES_OK:
            break
        _status_statement_prepared.discard(pg_connection)
        lost = result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"  # invalid_sql_statement_name
        if not lost or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            break
    return result


def _checked(pg_connection: "psycopg.Connection[Any]", result: pq.abc.PGresult) -> None:
    """Raises what a psycopg cursor raises for a failed `result`: OperationalError when the connection
    is gone, else the error class of the result's SQLSTATE."""
    if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        return
    if pg_connection.pgconn.status != pq.ConnStatus.OK:
        message = (result.error_message or pg_connection.pgconn.error_message).decode(errors="replace")
        raise psycopg.OperationalError(f"the status query failed: {message.strip()}")
    raise psycopg.errors.error_from_result(result, encoding=pg_connection.info.encoding)


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
