"""The stage-task wrapper (workers/base.py): after a stage hands the job on, the next stage may
already be running on another worker before the wrapper's own end-of-stage check."""

import pytest

from apps.jobs import stages
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import job_advance, job_claim, job_create
from workers.base import job_stage_task

pytestmark = pytest.mark.django_db


@job_stage_task()
def hands_on_and_is_overtaken(job: Job) -> None:
    job_advance(job=job, stage="second")
    # The next stage's worker claims the job before this wrapper checks that the stage handed on.
    assert job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq) is not None


def test_a_next_stage_already_running_is_not_failed_by_the_previous_stage(alice, monkeypatch):
    """Found by the 200-job chaos run: an upload stage failed its job `internal_error` "Stage submit
    did not complete" while the submit stage it had just handed on to was running elsewhere."""
    monkeypatch.setitem(stages.STAGE_TASKS, (JobKind.RENDER, "second"), "workers.render.test_second")
    monkeypatch.setattr("apps.jobs.services._send_stage_task", lambda *args: None)
    job, _ = job_create(kind=JobKind.RENDER, owner=alice, spec={}, first_stage=None)
    Job.objects.filter(pk=job.pk).update(stage="first", status=JobStatus.PENDING)

    hands_on_and_is_overtaken(job.pk, job.dispatch_seq)

    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING and job.stage == "second" and not job.error_code
