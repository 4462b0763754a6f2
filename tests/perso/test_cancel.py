"""Cancel means cancel: a cancelled job's Perso project is deleted (slot freed); a failed delete is
retried by the reconciler; a project made by a submit in flight at the cancel is deleted too."""

import threading

import pytest
from django.db import connection

from apps.jobs.models import Job, JobStatus
from apps.jobs.services import JobLost, job_cancel, job_claim, job_create
from apps.perso.client import PersoClient
from apps.perso.submits import perso_queue_ensure, perso_submit_project
from workers.housekeeping import reconcile_jobs_task


def _waiting_job(owner, media_seq: int) -> Job:
    job, _ = job_create(kind="separation", owner=owner, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    perso_submit_project(job=job, kind="separation", media_seq=media_seq, on_complete_stage="stems")
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    return job


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_job_deletes_its_perso_project(perso_sim, media_seq_factory, alice, celery_worker_all_queues):
    job = _waiting_job(alice, media_seq_factory())
    assert perso_sim.counters()["projectsLive"] == 1

    job_cancel(job=job)

    for _ in range(100):
        job.refresh_from_db()
        if "persoDeletedAt" in job.upstream:
            break
        threading.Event().wait(0.1)
    counters = perso_sim.counters()
    assert (counters["projectsCreated"], counters["deletes"], counters["projectsLive"]) == (1, 1, 0)
    assert "persoDeletedAt" in job.upstream


@pytest.mark.django_db(transaction=True)
def test_a_failed_delete_is_retried_by_the_reconciler(perso_sim, media_seq_factory, alice):
    job = _waiting_job(alice, media_seq_factory())
    job_cancel(job=job)  # no worker here: the sweep does the delete (one attempt per run)
    perso_sim.control(fail_next=[{"match": "/projects/", "method": "DELETE", "status": 503, "code": "", "times": 1}])

    reconcile_jobs_task()

    job.refresh_from_db()
    assert job.upstream["persoDeleteAttempts"] == 1 and "persoDeletedAt" not in job.upstream
    assert perso_sim.counters()["projectsLive"] == 1

    reconcile_jobs_task()

    job.refresh_from_db()
    assert "persoDeletedAt" in job.upstream
    counters = perso_sim.counters()
    assert (counters["deletes"], counters["projectsLive"]) == (1, 0)
    reconcile_jobs_task()  # nothing left to do
    assert perso_sim.counters()["deletes"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_project_made_by_a_submit_in_flight_at_the_cancel_is_deleted(perso_sim, media_seq_factory, alice):
    media_seq = media_seq_factory()
    perso_queue_ensure(client=PersoClient())
    job, _ = job_create(kind="separation", owner=alice, spec={}, first_stage=None)
    job = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    perso_sim.control(slow_ms=1500)
    outcome = []

    def submit():
        try:
            perso_submit_project(job=job, kind="separation", media_seq=media_seq, on_complete_stage="stems")
        except JobLost:
            outcome.append("lost")
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    thread.start()
    threading.Event().wait(0.7)  # the submit is under way
    job_cancel(job=Job.objects.get(pk=job.pk))
    perso_sim.control(slow_ms=0)
    thread.join(timeout=30)

    assert outcome == ["lost"]
    counters = perso_sim.counters()
    assert (counters["projectsCreated"], counters["projectsLive"]) == (1, 0)
    assert "persoDeletedAt" in Job.objects.get(pk=job.pk).upstream
