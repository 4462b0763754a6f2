"""The job state machine: creation, on-commit dispatch, claims under duplicate delivery, leases,
cancel, retry from the failed stage, and the reconciler."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from apps.core.errors import Conflict
from apps.jobs import stages
from apps.jobs.models import Job, JobEvent, JobKind, JobStatus
from apps.jobs.services import (
    JobLost,
    job_advance,
    job_cancel,
    job_claim,
    job_create,
    job_fail,
    job_heartbeat,
    job_retry,
    job_succeed,
    jobs_reconcile,
)
from vibi.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def test_stages(monkeypatch):
    monkeypatch.setitem(stages.STAGE_TASKS, (JobKind.RENDER, "first"), "workers.render.test_first")
    monkeypatch.setitem(stages.STAGE_TASKS, (JobKind.RENDER, "second"), "workers.render.test_second")


@pytest.fixture
def sent_tasks(monkeypatch):
    """The messages that would leave for the broker, in order (the broker itself is tested with a real worker)."""
    sent = []
    monkeypatch.setattr("apps.jobs.services._send_stage_task", lambda *args: sent.append(args))
    return sent


def _create(owner, **kwargs):
    job, _ = job_create(kind=JobKind.RENDER, owner=owner, spec={"a": 1}, first_stage="first", **kwargs)
    return job


def test_task_is_sent_only_after_the_job_row_commits(alice, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            job = _create(alice)
            assert sent_tasks == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    assert sent_tasks == [("workers.render.test_first", job.pk, 1, None)]
    job.refresh_from_db()
    assert job.public_id.startswith("rnd-") and job.status == JobStatus.PENDING and job.stage == "first"


def test_rolled_back_creation_sends_nothing(alice, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _create(alice)
            raise RuntimeError("request failed after creating the job")
    assert sent_tasks == [] and not Job.objects.exists()


def test_duplicate_delivery_claims_once(alice, sent_tasks):
    job = _create(alice)
    first = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    second = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    assert first is not None and second is None
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_stale_message_of_an_earlier_stage_is_ignored(alice, sent_tasks, django_capture_on_commit_callbacks):
    job = _create(alice)
    claimed = job_claim(job_id=job.pk, dispatch_seq=1)
    with django_capture_on_commit_callbacks(execute=True):
        job_advance(job=claimed, stage="second", progress=40)
    assert job_claim(job_id=job.pk, dispatch_seq=1) is None
    assert job_claim(job_id=job.pk, dispatch_seq=2).stage == "second"
    assert sent_tasks[-1] == ("workers.render.test_second", job.pk, 2, None)


def test_expired_lease_lets_a_redelivery_take_over(alice, sent_tasks):
    job = _create(alice)
    job_claim(job_id=job.pk, dispatch_seq=1)
    assert job_claim(job_id=job.pk, dispatch_seq=1) is None  # the first worker is alive
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    taken_over = job_claim(job_id=job.pk, dispatch_seq=1)
    assert taken_over is not None and taken_over.attempts == 2


def test_cancel_stops_a_running_stage_at_its_next_heartbeat(alice, sent_tasks):
    job = _create(alice)
    running = job_claim(job_id=job.pk, dispatch_seq=1)
    job_cancel(job=job)
    with pytest.raises(JobLost):
        job_heartbeat(job=running, progress=50)
    with pytest.raises(JobLost):
        job_succeed(job=running)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_cancel_of_a_finished_job_is_refused(alice, sent_tasks):
    job = _create(alice)
    running = job_claim(job_id=job.pk, dispatch_seq=1)
    job_succeed(job=running, result_updates={"files": {"out": "jobs/x/out.mp4"}})
    with pytest.raises(Conflict):
        job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["files"]["out"]


def test_retry_resumes_from_the_failed_stage(alice, sent_tasks, django_capture_on_commit_callbacks):
    job = _create(alice)
    with django_capture_on_commit_callbacks(execute=True):
        job_advance(job=job_claim(job_id=job.pk, dispatch_seq=1), stage="second")
    failing = job_claim(job_id=job.pk, dispatch_seq=2)
    job_fail(job=failing, code="upstream_failed", detail="Perso reported failure")
    failed = Job.objects.get(pk=job.pk)
    assert failed.status == JobStatus.FAILED and failed.failed_stage == "second"
    assert failed.progress_reason == "Perso reported failure"
    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=failed)
    retried = Job.objects.get(pk=job.pk)
    assert retried.status == JobStatus.PENDING and retried.stage == "second" and retried.error_code == ""
    assert sent_tasks[-1] == ("workers.render.test_second", job.pk, retried.dispatch_seq, None)
    with pytest.raises(Conflict):
        job_retry(job=retried)


def test_reconciler_resends_lost_messages_and_dead_workers_stages(
    alice, sent_tasks, settings, django_capture_on_commit_callbacks
):
    lost_message = _create(alice)
    dead_worker = _create(alice)
    job_claim(job_id=dead_worker.pk, dispatch_seq=1)
    healthy = _create(alice)
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_REDISPATCH_AFTER_SEC + 5)
    Job.objects.filter(pk=lost_message.pk).update(dispatched_at=long_ago)
    Job.objects.filter(pk=dead_worker.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile() == 2
    assert {args[1] for args in sent_tasks} == {lost_message.pk, dead_worker.pk}
    assert healthy.pk not in {args[1] for args in sent_tasks}
    assert JobEvent.objects.filter(job=dead_worker, kind=JobEvent.Kind.REDISPATCH).exists()
    # the re-sent message and a late original carry the same dispatch number: one of them runs
    assert job_claim(job_id=lost_message.pk, dispatch_seq=1) is not None
    assert job_claim(job_id=lost_message.pk, dispatch_seq=1) is None


def test_idempotency_key_returns_the_live_job(alice, bob, sent_tasks):
    first, created = job_create(kind=JobKind.RENDER, owner=alice, spec={}, first_stage="first", idempotency_key="k1")
    again, created_again = job_create(
        kind=JobKind.RENDER, owner=alice, spec={}, first_stage="first", idempotency_key="k1"
    )
    other_user, _ = job_create(kind=JobKind.RENDER, owner=bob, spec={}, first_stage="first", idempotency_key="k1")
    assert created and not created_again and again.pk == first.pk and other_user.pk != first.pk
    job_fail(job=first, code="x")
    after_failure, created_after_failure = job_create(
        kind=JobKind.RENDER, owner=alice, spec={}, first_stage="first", idempotency_key="k1"
    )
    assert created_after_failure and after_failure.pk != first.pk


def test_retention_sweep_deletes_expired_jobs_files_and_stale_staged_uploads(alice, sent_tasks, settings):
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from apps.core.storage import job_file_key, storage_delete_stale
    from apps.jobs.services import jobs_expired_delete

    expired = _create(alice)
    kept = _create(alice)
    for job in (expired, kept):
        default_storage.save(job_file_key(job.public_id, "output.mp4"), ContentFile(b"x"))
        job_fail(job=job, code="x")
    Job.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    Job.objects.filter(pk=kept.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert jobs_expired_delete() == 1
    assert not Job.objects.filter(pk=expired.pk).exists()
    assert not default_storage.exists(job_file_key(expired.public_id, "output.mp4"))
    assert default_storage.exists(job_file_key(kept.public_id, "output.mp4"))

    old_upload = default_storage.save("uploads/separation/2026-01-01/old.wav", ContentFile(b"x"))
    new_upload = default_storage.save("uploads/separation/2026-01-01/new.wav", ContentFile(b"x"))
    a_day_ago = time.time() - 24 * 3600
    os.utime(default_storage.path(old_upload), (a_day_ago, a_day_ago))
    assert storage_delete_stale(prefix="uploads/", older_than_sec=3600) == 1
    assert not default_storage.exists(old_upload) and default_storage.exists(new_upload)


def test_a_broker_outage_after_commit_delays_the_stage_and_fails_nothing(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    """The row is committed first; a message the broker refuses is re-sent by the reconciler."""

    def broker_down(task_name, args=None, countdown=None, **options):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = _create(alice)  # no exception reaches the request or stage that committed the change
    assert Job.objects.get(pk=job.pk).status == JobStatus.PENDING

    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda task_name, args=None, **options: sent.append((task_name, args)))
    Job.objects.filter(pk=job.pk).update(dispatched_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile() == 1
    assert sent == [("workers.render.test_first", [job.pk, 1])]
