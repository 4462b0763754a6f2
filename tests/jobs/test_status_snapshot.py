"""The status poll's one query (apps/jobs/selectors.job_status_snapshot): on Postgres a statement
prepared once per connection and run through libpq; its values are those the ORM reads."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.selectors import JobStatusSnapshot, job_status_snapshot
from apps.jobs.services import new_public_id

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the libpq path is Postgres's")


def _snapshot_of(job: Job) -> JobStatusSnapshot | None:
    return job_status_snapshot(owner_id=job.owner_id, public_id=job.public_id, kind=job.kind)


def _orm_snapshot(job: Job) -> JobStatusSnapshot:
    job.refresh_from_db()
    return JobStatusSnapshot(
        job.public_id, job.status, job.progress, job.progress_reason, job.error_code, job.error_detail, job.started_at
    )


@pytest.mark.django_db
def test_the_snapshot_holds_the_values_the_orm_reads(alice):
    jobs = [
        Job.objects.create(public_id=new_public_id(JobKind.RENDER), kind=JobKind.RENDER, owner=alice),
        Job.objects.create(
            public_id=new_public_id(JobKind.RENDER),
            kind=JobKind.RENDER,
            owner=alice,
            status=JobStatus.FAILED,
            progress=65,
            progress_reason="Überlauf — 失敗",
            error_code="ffmpeg_failed",
            error_detail="line one\nline two 'quoted' \\ backslash",
            started_at=datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC),
        ),
    ]
    for job in jobs:
        snapshot = _snapshot_of(job)
        assert snapshot == _orm_snapshot(job)
        assert snapshot is not None and type(snapshot.progress) is int
    assert (
        jobs[1].started_at is not None and _snapshot_of(jobs[1]).started_at == jobs[1].started_at
    )  # aware, same instant


@pytest.mark.django_db
def test_another_owner_or_kind_or_id_has_no_snapshot(alice, bob):
    job = Job.objects.create(public_id=new_public_id(JobKind.RENDER), kind=JobKind.RENDER, owner=alice)
    assert job_status_snapshot(owner_id=bob.pk, public_id=job.public_id, kind=JobKind.RENDER) is None
    assert job_status_snapshot(owner_id=alice.pk, public_id=job.public_id, kind=JobKind.MIX) is None
    assert job_status_snapshot(owner_id=alice.pk, public_id="rnd-missing", kind=JobKind.RENDER) is None


@postgres_only
@pytest.mark.django_db
def test_a_nul_in_the_id_is_refused_as_a_psycopg_cursor_refuses_it(alice):
    with pytest.raises(DataError):
        job_status_snapshot(owner_id=alice.pk, public_id="rnd-\x00", kind=JobKind.RENDER)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_the_statement_prepares_it_again(alice):
    job = Job.objects.create(public_id=new_public_id(JobKind.RENDER), kind=JobKind.RENDER, owner=alice)
    assert _snapshot_of(job) is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'vibi_job_status_snapshot'")
        assert cursor.fetchone() == (1,)
        cursor.execute("DEALLOCATE ALL")  # what DISCARD ALL or a pooler's reset does
    assert _snapshot_of(job) == _orm_snapshot(job)
    assert _snapshot_of(job) is not None
