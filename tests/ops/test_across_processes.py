"""One phone request followed through real worker processes: its request id is in the log of every
process that touched its job, no secret is in any log, and /metrics moved with the job."""

import json
import logging
import re
import uuid

import pytest
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from apps.accounts.services import access_token_issue
from apps.jobs.models import Job, JobStatus
from apps.observability.logging import ContextFilter, JsonFormatter
from tests.faults.conftest import free_loopback_port, jobs_settled, subtitles_submit, wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def secrets_in_play(settings, workers, perso_sim):
    """Distinctive secret values in this process (the web side, the simulators) and the workers."""
    values = {
        "PERSO_API_KEY": f"pk-live-{uuid.uuid4().hex}",
        "AUTH_JWT_SECRET": f"jwt-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "SEPARATION_SIGNING_SECRET": f"sig-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "DJANGO_SECRET_KEY": f"dj-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "METRICS_BEARER_TOKEN": f"mt-{uuid.uuid4().hex}",
    }
    settings.PERSO_API_KEY = settings.PERSO_SIM_API_KEY = values["PERSO_API_KEY"]
    settings.AUTH_JWT_SECRET = values["AUTH_JWT_SECRET"]
    settings.SIGNING_SECRET = values["SEPARATION_SIGNING_SECRET"]
    settings.SECRET_KEY = values["DJANGO_SECRET_KEY"]
    settings.METRICS_BEARER_TOKEN = values["METRICS_BEARER_TOKEN"]
    workers.base_env.update(values)
    workers.base_env["LOG_FORMAT"] = "json"
    from apps.observability import logging as observability_logging

    observability_logging._configured_secrets.cache_clear()
    yield values
    observability_logging._configured_secrets.cache_clear()


@pytest.fixture
def web_log(tmp_path):
    """This process plays the web host: its log lines, formatted as in production, go to a file."""
    path = tmp_path / "logs" / "web.log"
    path.parent.mkdir(exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous_level)
    handler.close()


def _scrape(client, token: str) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _total(samples: dict, name: str, **labels) -> float:
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and all(dict(sample_labels).get(k) == v for k, v in labels.items())
    )


def test_request_id_in_every_process_no_secret_anywhere_and_metrics_moved(
    alice, client, workers, secrets_in_play, web_log, speech_wav, tmp_path
):
    token = secrets_in_play["METRICS_BEARER_TOKEN"]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    before = _scrape(client, token)

    exporter_port = free_loopback_port()
    workers.base_env["METRICS_WORKER_PORT"] = str(exporter_port)  # the worker host's exporter
    workers.worker("upload", "upload,gemini")
    workers.worker("perso", "perso,default")
    workers.beat()
    request_id = f"phone-{uuid.uuid4().hex}"
    access_token = access_token_issue(user=alice).token  # signed with this test's JWT secret
    alice_client = APIClient()
    alice_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}", HTTP_X_REQUEST_ID=request_id)
    job_id = subtitles_submit(alice_client, speech_wav)
    wait_until(lambda: jobs_settled([job_id]), timeout=120, what="the job to finish", every=0.5)
    job = Job.objects.get(public_id=job_id)
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_detail)
    assert job.request_id == request_id

    status = alice_client.get(f"/api/v2/subtitles/{job_id}")
    assert status["X-Request-ID"] == request_id
    signed_url = status.json()["originalSrtUrl"]
    assert "token=" in signed_url
    assert alice_client.get(signed_url).status_code == 200

    # A client's insane request id is replaced, never echoed.
    odd = client.get(
        f"/api/v2/subtitles/{job_id}",
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
        HTTP_X_REQUEST_ID="bad id\nwith newline",
    )
    assert odd["X-Request-ID"] != "bad id\nwith newline" and re.fullmatch(r"[0-9a-f]{32}", odd["X-Request-ID"])

    after = _scrape(client, token)
    exported = requests.get(f"http://127.0.0.1:{exporter_port}/metrics", timeout=10).text
    workers.stop_all()

    # --- logs: every process that touched the job has its request id; no secret anywhere ----------
    logs = {path.name: path.read_text(errors="replace") for path in (tmp_path / "logs").iterdir()}
    touched = {name: text for name, text in logs.items() if job_id in text}
    assert any(name.startswith("upload") for name in touched), list(logs)
    assert any(name.startswith("perso") for name in touched), list(logs)
    assert "web.log" in touched
    for name, text in touched.items():
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        job_lines = [line for line in lines if line.get("job_id") == job_id]
        assert job_lines, name
        assert all(line["user_id"] == alice.pk for line in job_lines), name
        if name != "web.log":  # every worker line about the job carries the phone's request id
            assert all(line["request_id"] == request_id for line in job_lines), name
    web_job_lines = [json.loads(line) for line in logs["web.log"].splitlines() if job_id in line]
    phone_requests = {line["request_id"] for line in web_job_lines if "/api/v2/subtitles" in line["message"]}
    # The submit and the status poll sent the phone's id; the request with an insane id got its own.
    assert phone_requests == {request_id, odd["X-Request-ID"]}
    # Tasks sent for the job carry the request id in their headers: Celery's own line about the task
    # (logged after the stage let go of the job) has it too.
    trace_lines = [
        json.loads(line)
        for text in touched.values()
        for line in text.splitlines()
        if line.startswith("{") and '"celery.app.trace"' in line and "subtitles_" in line
    ]
    assert trace_lines and all(line["request_id"] == request_id for line in trace_lines)
    web_lines = [json.loads(line) for line in logs["web.log"].splitlines()]
    assert any(line["request_id"] == request_id and "/api/v2/subtitles" in line["message"] for line in web_lines)
    assert any(
        line.get("task") and line.get("queue") and line.get("attempt")
        for text in touched.values()
        for line in (json.loads(x) for x in text.splitlines() if x.startswith("{"))
    )

    secrets = [*secrets_in_play.values(), access_token, signed_url.split("token=", 1)[1]]
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}…) is in {name}"
        assert not re.search(r"[?&](sig|token|signature)=(?!\[REDACTED\])", text, re.IGNORECASE), name
        assert "alice@example.com" not in text, name

    # --- metrics: the series moved -----------------------------------------------------------------
    assert (
        _total(after, "vibi_jobs_created_total", kind="subtitles")
        == _total(before, "vibi_jobs_created_total", kind="subtitles") + 1
    )
    assert _total(after, "vibi_jobs_finished_total", kind="subtitles", status="succeeded") == (
        _total(before, "vibi_jobs_finished_total", kind="subtitles", status="succeeded") + 1
    )
    assert _total(after, "vibi_job_stage_seconds_count", kind="subtitles") > _total(
        before, "vibi_job_stage_seconds_count", kind="subtitles"
    )
    assert _total(after, "vibi_upstream_calls_total", service="perso") > _total(
        before, "vibi_upstream_calls_total", service="perso"
    )
    assert _total(after, "vibi_upstream_call_seconds_count", service="perso") > 0
    assert _total(after, "vibi_jobs", status="succeeded") == _total(before, "vibi_jobs", status="succeeded") + 1
    assert _total(after, "django_http_requests_total_by_view_transport_method_total") > _total(
        before, "django_http_requests_total_by_view_transport_method_total"
    )
    queues = {dict(labels)["queue"] for name, labels in after if name == "vibi_celery_queue_depth"}
    assert queues == {"upload", "perso", "gemini", "render", "default"}
    assert _total(after, "vibi_perso_slots_max") == settings.PERSO_MAX_IN_FLIGHT
    assert ("vibi_perso_slots_used", ()) in after
    # The worker host's exporter serves the series its processes wrote (no state gauges there).
    assert 'vibi_job_stage_seconds_count{kind="subtitles"' in exported and "vibi_jobs{" not in exported
