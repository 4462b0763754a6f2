"""Polling survives a worker restart: the waiting job lives in Postgres, not in a worker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from apps.jobs import stages
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_claim, job_create
from apps.perso.submits import perso_submit_project
from apps.perso.uploads import perso_upload_media
from tests.perso import stage_tasks
from workers import queues
from workers.perso import poll_due_jobs_task

FINISH_STAGE = "perso_test_finish"


def _worker(app):
    return start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, queues=list(queues.ALL), loglevel="WARNING"
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_job_completes_after_the_worker_is_replaced(alice, perso_sim, speech_wav, monkeypatch):
    from vibi.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("worker tests need CELERY_BROKER_URL=redis://...")
    monkeypatch.setitem(stages.STAGE_TASKS, ("subtitles", FINISH_STAGE), stage_tasks.perso_test_finish_task.name)
    app.control.purge()
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    job, _ = job_create(kind="subtitles", owner=alice, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)

    with _worker(app):
        perso_submit_project(job=job, kind="stt", media_seq=media_seq, on_complete_stage=FINISH_STAGE)
        poll_due_jobs_task.delay()  # not due yet: the first poll is 5 s after the submit
        time.sleep(1.0)
    # The first worker is gone while the job waits; "time passes" until its poll is due.
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))

    with _worker(app):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            poll_due_jobs_task.delay()  # what beat sends every POLL_TICK_SEC
            time.sleep(1.0)
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            if job.status == JobStatus.WAITING and job.next_poll_at > timezone.now():
                Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    app.control.purge()

    assert job.status == JobStatus.SUCCEEDED, (job.status, job.error_code, job.error_detail)
    assert job.result["finishedBy"] == "perso_test_finish_task"
