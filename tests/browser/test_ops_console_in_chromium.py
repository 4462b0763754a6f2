"""Ops staff in a real browser (Debian's chromium driven by Playwright): log in, open the dashboard,
find a failed job, press Retry on its page, confirm, and watch it complete; a read-only staff user
sees no Retry button. Screenshots are kept under data/test-artifacts/browser/ (paths printed)."""

import shutil
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from apps.jobs.models import Job, JobEvent, JobStatus
from tests.faults.conftest import subtitles_submit, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "data" / "test-artifacts" / "browser"


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    binary = shutil.which("chromium")
    if not binary:
        pytest.fail("Debian's chromium is required (.ci/run installs it: apt-get install chromium chromium-driver)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(request) -> Path:
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def _log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#ops-dashboard-link")


def test_ops_retry_a_failed_job_in_the_browser(
    browser, live_server, perso_sim, workers, alice_client, speech_wav, django_user_model, artifacts
):
    django_user_model.objects.create_superuser("ops", "ops@example.com", "ops-password-1")
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.com", "viewer-password-1", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_job", "view_externalcall"]))

    # A job that fails on purpose: Perso fails the project half-way.
    perso_sim.control(project_fail_at_percent=50)
    workers.worker("upload", "upload,gemini")
    workers.worker("perso", "perso,default")
    workers.beat()
    job_id = subtitles_submit(alice_client, speech_wav)
    wait_until(
        lambda: Job.objects.filter(public_id=job_id, status=JobStatus.FAILED).exists(),
        timeout=90,
        what="the job to fail",
        every=0.5,
    )
    perso_sim.control(project_fail_at_percent=None)  # Perso is healthy again

    base = live_server.url
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _log_in(page, base, "ops", "ops-password-1")
    page.click("#ops-dashboard-link a")
    page.wait_for_selector("#dash-kinds")
    _shot(page, artifacts, "1-dashboard")

    # The failed count of subtitles jobs links to the filtered list; the list links to the job.
    page.click("#dash-kinds a[href*='kind__exact=subtitles'][href*='status__exact=failed']")
    page.wait_for_selector("#result_list")
    assert page.inner_text(".paginator").strip().startswith("1 job")  # the true count
    page.click(f"#result_list a:text('{job_id}')")
    page.wait_for_selector("#job-timeline")
    assert page.inner_text("#job-status") == "Failed"
    assert page.locator("input[name=_save]").count() == 0 and page.locator(".deletelink").count() == 0
    _shot(page, artifacts, "2-failed-job")

    page.click("#job-retry")
    page.wait_for_selector("#confirm-retry")
    _shot(page, artifacts, "3-confirm-retry")
    page.click("#confirm-retry")
    page.wait_for_selector("#job-timeline")

    deadline = time.monotonic() + 90
    while page.inner_text("#job-status") != "Succeeded":
        assert time.monotonic() < deadline, f"job still {page.inner_text('#job-status')} after the retry"
        time.sleep(1)
        page.reload()
    assert "retry from" in page.inner_text("#job-timeline") and "by ops" in page.inner_text("#job-timeline")
    _shot(page, artifacts, "4-succeeded-after-retry")
    job = Job.objects.get(public_id=job_id)
    assert job.failed_stage == "" and job.attempts_total >= 2
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.RETRY, actor="ops").count() == 1

    # Read-only staff: the same kind of page, no buttons.
    failed_again = Job.objects.filter(pk=job.pk)
    failed_again.update(status=JobStatus.FAILED, error_code="perso_error", failed_stage="submit")
    viewer_page = browser.new_page(viewport={"width": 1400, "height": 900})
    _log_in(viewer_page, base, "viewer", "viewer-password-1")
    viewer_page.goto(f"{base}/admin/jobs/job/{job.pk}/change/")
    viewer_page.wait_for_selector("#job-timeline")
    assert viewer_page.inner_text("#job-status") == "Failed"
    assert viewer_page.locator("#job-retry").count() == 0 and viewer_page.locator("#job-cancel").count() == 0
    _shot(viewer_page, artifacts, "5-read-only-staff")
