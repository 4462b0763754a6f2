"""The reconciler tells a lost message from a delayed one (a stage retry waiting out its backoff is
not re-sent early; once overdue it is, visibly in the timeline), and a worker whose lease expired
but which is still alive cannot keep running the stage next to the one that took it over."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.jobs.models import Job, JobEvent, JobStatus
from apps.jobs.services import (
    JobLost,
    job_claim,
    job_create,
    job_heartbeat,
    job_retry_stage_later,
    job_succeed,
    jobs_reconcile,
)

pytestmark = pytest.mark.django_db  # no commit, so no message leaves this test


def test_a_retry_waiting_out_its_backoff_is_not_taken_for_a_lost_message(alice, settings):
    settings.JOB_REDISPATCH_AFTER_SEC = 10
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage="upload")
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    assert job_retry_stage_later(job=job, code="perso_unavailable", detail="500", retry_after_sec=60)
    now = timezone.now()

    assert jobs_reconcile(now=now + timedelta(seconds=30)) == 0  # the retry is due in 60 s, not lost

    assert jobs_reconcile(now=now + timedelta(seconds=75)) == 1  # due at 60 s, still not started at 70 s
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    redispatch = JobEvent.objects.get(job=job, kind=JobEvent.Kind.REDISPATCH)
    assert redispatch.message == "re-sent upload: queued message lost"


def _expire_lease(job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_a_stalled_worker_is_fenced_off_when_the_reconciler_resends_its_stage(alice):
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage="upload")
    stalled = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    _expire_lease(stalled)  # e.g. a long stall: no heartbeat within JOB_LEASE_SEC

    assert jobs_reconcile() == 1
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.REDISPATCH).count() == 1
    resent_seq = Job.objects.get(pk=job.pk).dispatch_seq
    assert resent_seq == stalled.dispatch_seq + 1
    assert job_claim(job_id=job.pk, dispatch_seq=stalled.dispatch_seq) is None  # the original message, late
    successor = job_claim(job_id=job.pk, dispatch_seq=resent_seq)
    assert successor is not None

    with pytest.raises(JobLost):
        job_heartbeat(job=stalled, progress=50)  # the stalled worker stops at its next heartbeat
    with pytest.raises(JobLost):
        job_succeed(job=stalled)
    job_succeed(job=successor)
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.SUCCEEDED).count() == 1


def test_a_redelivery_that_takes_over_an_expired_lease_fences_off_the_old_worker(alice):
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage="upload")
    stalled = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    _expire_lease(stalled)

    successor = job_claim(job_id=job.pk, dispatch_seq=stalled.dispatch_seq)  # the broker redelivers
    assert successor is not None and successor.attempts == 2

    with pytest.raises(JobLost):
        job_heartbeat(job=stalled)
    job_heartbeat(job=successor, progress=10)


def test_a_message_waiting_in_a_long_queue_is_not_resent_over_and_over(alice, settings):
    """Found by the chaos run: with a backlog longer than JOB_REDISPATCH_AFTER_SEC every waiting job
    was re-sent at every reconciler tick past the threshold, each duplicate queueing behind the
    others (hundreds of no-op messages making the backlog worse). Each re-send of the same message
    now waits as long again as the previous wait."""
    settings.JOB_REDISPATCH_AFTER_SEC = 10
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage="upload")
    sent_at = Job.objects.get(pk=job.pk).dispatched_at

    def resends() -> int:
        return JobEvent.objects.filter(job=job, kind=JobEvent.Kind.REDISPATCH).count()

    def reconcile_at(seconds: float) -> None:
        jobs_reconcile(now=sent_at + timedelta(seconds=seconds))

    ticks = range(11, 200)  # a reconciler tick every second while the job still waits its turn
    resent_at = []
    for tick in ticks:
        before = resends()
        reconcile_at(tick)
        if resends() > before:
            resent_at.append(tick)
    # Was every 11 s (17 duplicates by 200 s, and growing with the backlog): now 10 s, 20 s, 40 s, 80 s apart.
    assert resent_at == [11, 22, 43, 84, 165]
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.dispatch_seq == 1  # the same message, never fenced
