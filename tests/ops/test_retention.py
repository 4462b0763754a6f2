"""Upstream-call rows and job events older than OPS_RECORD_RETENTION_DAYS go, in batches; newer ones stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.jobs.models import ExternalCall, Job, JobEvent, JobKind
from apps.jobs.services import external_call_record, job_create
from workers.config import beat_schedule
from workers.housekeeping import delete_old_ops_records_task

pytestmark = pytest.mark.django_db


def test_only_rows_older_than_the_setting_are_deleted_in_batches(settings, alice):
    settings.OPS_RECORD_RETENTION_DAYS = 30
    settings.OPS_RECORD_DELETE_BATCH = 100  # 250 old rows of each: three batches
    job, _ = job_create(kind=JobKind.SEPARATION, owner=alice, spec={}, first_stage=None)
    for _ in range(250):
        external_call_record(service="perso", method="GET", endpoint="/p", status_code=200, latency_ms=1, job_id=job.pk)
        JobEvent.objects.create(job=job, kind=JobEvent.Kind.PROGRESS, message="old")
    now = timezone.now()
    ExternalCall.objects.update(at=now - timedelta(days=31))
    JobEvent.objects.filter(message="old").update(at=now - timedelta(days=31))
    for days in (29, 1):
        call = ExternalCall.objects.create(job=job, service="gemini", method="POST", endpoint="/g", latency_ms=1)
        ExternalCall.objects.filter(pk=call.pk).update(at=now - timedelta(days=days))
        event = JobEvent.objects.create(job=job, kind=JobEvent.Kind.NOTE, message=f"{days} days old")
        JobEvent.objects.filter(pk=event.pk).update(at=now - timedelta(days=days))
    young_events = set(JobEvent.objects.exclude(message="old").values_list("pk", flat=True))

    deleted = delete_old_ops_records_task()

    assert deleted == {"ExternalCall": 250, "JobEvent": 250}
    assert set(ExternalCall.objects.values_list("service", flat=True)) == {"gemini"}
    assert ExternalCall.objects.count() == 2
    assert set(JobEvent.objects.values_list("pk", flat=True)) == young_events
    assert Job.objects.filter(pk=job.pk).exists()
    assert delete_old_ops_records_task() == {"ExternalCall": 0, "JobEvent": 0}


def test_every_periodic_task_expires_and_retention_is_scheduled():
    assert "workers.housekeeping.delete_old_ops_records_task" in {entry["task"] for entry in beat_schedule.values()}
    for name, entry in beat_schedule.items():
        assert entry.get("options", {}).get("expires", 0) > 0, name


def test_task_events_are_on():
    from vibi.celery import app

    assert app.conf.worker_send_task_events is True and app.conf.task_send_sent_event is True
