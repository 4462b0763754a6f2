"""Ops staff in admin: the job list, the detail with its timeline and upstream calls, retry and cancel."""

import pytest
from django.urls import reverse

from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import external_call_record, job_claim, job_create, job_fail

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_job(alice, no_broker):
    job, _ = job_create(kind=JobKind.SEPARATION, owner=alice, spec={"mediaType": "AUDIO"}, first_stage="upload")
    running = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    external_call_record(
        service="perso",
        method="PUT",
        endpoint="/file/api/upload/audio",
        status_code=500,
        latency_ms=120,
        error_code="F5001",
        job_id=job.pk,
    )
    job_fail(job=running, code="perso_unavailable", detail="Perso service unavailable")
    return job


def test_job_list_filters_and_search(staff_client, failed_job):
    url = reverse("admin:jobs_job_changelist")
    response = staff_client.get(
        url, {"status__exact": "failed", "kind__exact": "separation", "q": failed_job.public_id}
    )
    assert response.status_code == 200
    assert failed_job.public_id in response.content.decode()
    assert staff_client.get(url, {"status__exact": "succeeded"}).content.decode().count(failed_job.public_id) == 0


def test_job_detail_shows_timeline_calls_and_pretty_json(staff_client, failed_job):
    response = staff_client.get(reverse("admin:jobs_job_change", args=[failed_job.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "perso_unavailable" in page and "/file/api/upload/audio" in page and "F5001" in page
    assert "&quot;mediaType&quot;: &quot;AUDIO&quot;" in page or '"mediaType": "AUDIO"' in page


def test_retry_action_requeues_from_the_failed_stage(staff_client, failed_job):
    response = staff_client.post(
        reverse("admin:jobs_job_changelist"), {"action": "retry_selected", "_selected_action": [failed_job.pk]}
    )
    assert response.status_code == 302
    job = Job.objects.get(pk=failed_job.pk)
    assert job.status == JobStatus.PENDING and job.stage == "upload" and job.error_code == ""


def test_cancel_action_cancels_active_and_refuses_finished(staff_client, failed_job, alice):
    active, _ = job_create(kind=JobKind.SEPARATION, owner=alice, spec={}, first_stage="upload")
    staff_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "cancel_selected", "_selected_action": [active.pk, failed_job.pk]},
    )
    assert Job.objects.get(pk=active.pk).status == JobStatus.CANCELLED
    assert Job.objects.get(pk=failed_job.pk).status == JobStatus.FAILED
