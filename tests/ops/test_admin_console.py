"""The ops console in admin: true counts, stuck = no progress, timestamps to the second, the job page's
timeline and buttons, confirmed and audited retry/cancel, truthful attempts, read-only staff."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.jobs.models import Job, JobEvent, JobKind, JobStatus
from apps.jobs.services import (
    external_call_record,
    job_claim,
    job_create,
    job_fail,
    job_retry_stage_later,
    job_schedule_poll,
    job_wait_upstream,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_broker")]


@pytest.fixture
def viewer_client(client, django_user_model):
    """Staff with the view permission only."""
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_job", "view_externalcall", "view_jobevent"])
    )
    client.force_login(viewer)
    return client


def _running(owner, **spec):
    job, _ = job_create(kind=JobKind.SEPARATION, owner=owner, spec=spec, first_stage="upload")
    return job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)


def _failed(owner, code="perso_unavailable"):
    job = _running(owner)
    job_fail(job=job, code=code, detail="it broke")
    return Job.objects.get(pk=job.pk)


def test_filtered_list_shows_the_true_count(staff_client, alice):
    for _ in range(3):
        _failed(alice)
    _running(alice)
    page = staff_client.get(reverse("admin:jobs_job_changelist"), {"status__exact": "failed"}).content.decode()
    assert "3 results" in page and "10000" not in page
    empty = staff_client.get(reverse("admin:jobs_job_changelist"), {"status__exact": "cancelled"}).content.decode()
    assert "0 results" in empty


def test_stuck_means_no_progress_not_no_update(staff_client, alice):
    """A job polled every few seconds (updated_at fresh) whose progress has not moved for longer than
    its stage should take is stuck; one whose progress moved is not."""
    stalled = _running(alice)
    job_wait_upstream(job=stalled, upstream={"provider": "perso"}, next_poll_at=timezone.now())
    moving = _running(alice)
    job_wait_upstream(job=moving, upstream={"provider": "perso"}, next_poll_at=timezone.now())
    long_ago = timezone.now() - timedelta(hours=2)
    Job.objects.filter(pk__in=[stalled.pk, moving.pk]).update(progressed_at=long_ago)
    stalled.refresh_from_db()
    moving.refresh_from_db()
    job_schedule_poll(job=stalled, next_poll_at=timezone.now(), progress=stalled.progress)  # a poll: same progress
    job_schedule_poll(job=moving, next_poll_at=timezone.now(), progress=40)  # a poll that saw progress
    stalled.refresh_from_db()
    assert stalled.updated_at > timezone.now() - timedelta(minutes=1)  # "touched" just now

    page = staff_client.get(reverse("admin:jobs_job_changelist"), {"stuck": "yes"}).content.decode()
    assert stalled.public_id in page and moving.public_id not in page
    dashboard = staff_client.get(reverse("admin:jobs_job_dashboard")).content.decode()
    assert stalled.public_id in dashboard and moving.public_id not in dashboard


def test_expired_lease_is_stuck(staff_client, alice):
    job = _running(alice)
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    page = staff_client.get(reverse("admin:jobs_job_changelist"), {"stuck": "yes"}).content.decode()
    assert job.public_id in page


def test_timestamps_to_the_second_on_list_page_and_call_page(staff_client, alice):
    job = _failed(alice)
    external_call_record(service="perso", method="GET", endpoint="/x", status_code=200, latency_ms=5, job_id=job.pk)
    stamp = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
    assert stamp.search(staff_client.get(reverse("admin:jobs_job_changelist")).content.decode())
    assert stamp.search(staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode())
    call = job.external_calls.get()
    assert stamp.search(staff_client.get(reverse("admin:jobs_externalcall_change", args=[call.pk])).content.decode())


def test_job_page_has_one_timeline_buttons_and_no_save_or_delete(staff_client, alice):
    job = _failed(alice)
    external_call_record(
        service="perso", method="PUT", endpoint="/file/api/upload", status_code=503, latency_ms=7, job_id=job.pk
    )
    page = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert 'id="job-timeline"' in page and "/file/api/upload" in page and "started upload (attempt 1)" in page
    timeline = page[page.index('id="job-timeline"') :]
    assert timeline.index("created") < timeline.index("started upload") < timeline.index("perso_unavailable")
    assert 'id="job-retry"' in page and 'id="job-cancel"' not in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page and "deletelink" not in page


def test_retry_asks_then_records_who_and_resets_the_failure_fields(staff_client, alice):
    job = _failed(alice)
    confirm = staff_client.get(reverse("admin:jobs_job_retry", args=[job.pk]))
    assert confirm.status_code == 200 and 'id="confirm-retry"' in confirm.content.decode()
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED  # asking changes nothing

    response = staff_client.post(reverse("admin:jobs_job_retry", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.failed_stage == "" and job.error_code == ""
    retry = JobEvent.objects.get(job=job, kind=JobEvent.Kind.RETRY)
    assert retry.actor == "ops" and "by ops" in retry.message

    running = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    assert running.attempts_total == 2  # the first run and the retry's run
    page = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "of all stages 2" in page and "ops" in page


def test_internal_retries_count_in_attempts(alice):
    job = _running(alice)
    assert job_retry_stage_later(job=job, code="perso_busy", detail="429", retry_after_sec=0)
    job.refresh_from_db()
    again = job_claim(job_id=job.pk, dispatch_seq=job.dispatch_seq)
    assert again.attempts == 2 and again.attempts_total == 2


def test_permanent_failure_is_warned_before_retry(staff_client, alice):
    job = _failed(alice, code="invalid_media")
    assert 'id="permanent-warning"' in staff_client.get(reverse("admin:jobs_job_retry", args=[job.pk])).content.decode()
    transient = _failed(alice, code="perso_unavailable")
    page = staff_client.get(reverse("admin:jobs_job_retry", args=[transient.pk])).content.decode()
    assert 'id="permanent-warning"' not in page


def test_cancel_is_confirmed_and_audited(staff_client, alice):
    job = _running(alice)
    page = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert 'id="job-cancel"' in page and 'id="job-retry"' not in page
    staff_client.post(reverse("admin:jobs_job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert JobEvent.objects.get(job=job, kind=JobEvent.Kind.CANCELLED).actor == "ops"


def test_read_only_staff_sees_no_buttons_and_cannot_act(viewer_client, alice):
    job = _failed(alice)
    page = viewer_client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="job-retry"' not in body and 'id="job-cancel"' not in body and 'name="_save"' not in body
    assert viewer_client.post(reverse("admin:jobs_job_retry", args=[job.pk])).status_code == 403
    listing = viewer_client.get(reverse("admin:jobs_job_changelist")).content.decode()
    assert "retry_selected" not in listing
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_dashboard_shows_every_section(staff_client, alice):
    _failed(alice)
    waiting = _running(alice)
    job_wait_upstream(
        job=waiting, upstream={"provider": "perso", "persoState": "processing"}, next_poll_at=timezone.now()
    )
    external_call_record(service="perso", method="GET", endpoint="/p", status_code=500, latency_ms=900, job_id=None)
    external_call_record(service="perso", method="GET", endpoint="/p", status_code=200, latency_ms=100, job_id=None)
    response = staff_client.get(reverse("admin:jobs_job_dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    for section in ("dash-kinds", "dash-stuck", "dash-queues", "dash-upstreams", "dash-perso"):
        assert f'id="{section}"' in page
    assert "separation" in page and "50%" in page and "900 ms" in page
    assert re.search(r'id="perso-slots">1 / \d+<', page)
    assert waiting.public_id in page or "Oldest job" in page


def test_job_page_links_to_its_outputs(staff_client, alice):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    job = _failed(alice)
    key = default_storage.save(
        f"jobs/{job.public_id}/original.srt", ContentFile(b"1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    )
    Job.objects.filter(pk=job.pk).update(result={"originalSrtKey": key, "stems": {"vocalsKey": "jobs/missing.wav"}})
    page = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    links = dict(re.findall(r'class="job-output" href="([^"]+)">([^<]+)<', page))
    by_name = {name: url for url, name in links.items()}
    assert set(by_name) == {"originalSrtKey", "stems.vocalsKey"}
    response = staff_client.get(by_name["originalSrtKey"])
    assert response.status_code == 200 and b"hi" in b"".join(response.streaming_content)
    assert staff_client.get(by_name["stems.vocalsKey"]).status_code == 404  # named, but not stored (any more)
