"""A worker that dies inside the submit stage never makes us pay Perso twice (found by the chaos run:
a worker killed after Perso accepted the submit but before the project id was stored; the re-run
stage submitted a second project). The crash is a BaseException raised at the exact line (the
chaos suite, tests/chaos/, does the same with a real SIGKILL); Perso's own books count the projects."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create, jobs_reconcile
from apps.perso import submits as perso_submits
from apps.perso.uploads import perso_upload_media
from apps.simulators.perso.state import sim_state
from workers.perso import subtitles_submit_task

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDied(BaseException):
    """What SIGKILL looks like from inside: nothing after this line runs, no handler sees it."""


def _projects_of(job: Job) -> list[int]:
    """The simulator's own projects whose title names the job (titles are `<kind>-<job id>-<nonce>`)."""
    with sim_state(write=False) as state:
        return [int(seq) for seq, project in state["projects"].items() if job.public_id in project["title"]]


def _job_at_submit(alice, speech_wav) -> Job:
    media_seq = perso_upload_media(local_path=speech_wav, file_name="talk.wav", media_type="audio", validate=False)
    job, _ = job_create(kind="subtitles", owner=alice, spec={"sourceLanguageCode": "en"}, first_stage=None)
    Job.objects.filter(pk=job.pk).update(stage="submit", upstream={"persoMediaSeq": media_seq})
    job.refresh_from_db()
    return job


def _run_submit_stage_dying_at(job: Job, monkeypatch, target: str) -> None:
    def die(*args, **kwargs):
        raise WorkerDied

    with monkeypatch.context() as patch:
        patch.setattr(perso_submits, target, die)
        with pytest.raises(WorkerDied):
            subtitles_submit_task(job.pk, job.dispatch_seq)


def _take_over(job: Job) -> Job:
    """The dead worker's lease runs out; the reconciler re-sends the stage under a new number."""
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs_reconcile() == 1
    job.refresh_from_db()
    subtitles_submit_task(job.pk, job.dispatch_seq)
    job.refresh_from_db()
    return job


def test_a_submit_accepted_but_not_recorded_is_adopted_not_sent_again(alice, perso_sim, speech_wav, monkeypatch):
    job = _job_at_submit(alice, speech_wav)
    _run_submit_stage_dying_at(job, monkeypatch, "chaos_point")  # right after Perso's 201, before we store it
    made = _projects_of(job)
    assert len(made) == 1

    job = _take_over(job)

    assert _projects_of(job) == made  # was 2 projects: the re-run submitted again
    assert job.status == JobStatus.WAITING, (job.error_code, job.error_detail)
    assert job.upstream["persoProjectSeq"] == made[0]


def test_a_submit_recorded_before_the_crash_is_polled_not_resubmitted(alice, perso_sim, speech_wav, monkeypatch):
    job = _job_at_submit(alice, speech_wav)
    _run_submit_stage_dying_at(job, monkeypatch, "job_wait_upstream")  # the project id is stored, not handed on
    job.refresh_from_db()
    recorded = job.upstream["persoProjectSeq"]

    job = _take_over(job)

    assert _projects_of(job) == [recorded]
    assert job.status == JobStatus.WAITING and job.upstream["persoProjectSeq"] == recorded
    assert job.upstream["persoState"] == perso_submits.STATE_PROCESSING


def test_a_stage_that_loses_the_database_is_not_failed_but_taken_over(alice, perso_sim, speech_wav, monkeypatch):
    """Found by the 200-job chaos run: a stage running through the Postgres restart ended FAILED
    `internal_error`. A lost connection is not the job's fault: the stage is left to its lease."""
    job = _job_at_submit(alice, speech_wav)

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(perso_submits, "chaos_point", database_gone)
        subtitles_submit_task(job.pk, job.dispatch_seq)
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and not job.error_code

    job = _take_over(job)

    assert len(_projects_of(job)) == 1
    assert job.status == JobStatus.WAITING, (job.error_code, job.error_detail)
