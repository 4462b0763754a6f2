"""A phone's plain status poll is answered outside DRF's dispatch (apps/jobs/endpoints.status_poll_view).

Every answer must be byte for byte the one of DRF's view: each request below is sent through the
platform's URLconf and through this module's, where the status routes are DRF's views alone, and
the status, every header (in order) and the body are compared. The plain polls must also have been
answered without DRF's dispatch, and everything else by it, or the comparison proves nothing."""

import time
from unittest import mock

import jwt
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, include, path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from apps.accounts.services import access_token_issue
from apps.jobs.models import Job, JobKind, JobStatus
from apps.jobs.services import new_public_id
from vibi import urls as platform_urls

pytestmark = pytest.mark.django_db


def _answered_by_drf_alone(pattern: URLPattern) -> URLPattern:
    drf_view = getattr(pattern.callback, "drf_view", None)
    return URLPattern(pattern.pattern, drf_view, pattern.default_args, pattern.name) if drf_view else pattern


def _drf_only_urlpatterns() -> list[URLPattern | URLResolver]:
    api_v2 = [_answered_by_drf_alone(pattern) for pattern in platform_urls.api_v2]
    return [path("api/v2/", include(api_v2)), *platform_urls.urlpatterns[1:]]


# This module is the URLconf of the DRF side: the platform's routes with every status view DRF's own.
assert str(platform_urls.urlpatterns[0].pattern) == "api/v2/"
urlpatterns = _drf_only_urlpatterns()
DRF_ONLY = __name__
PLATFORM = django_settings.ROOT_URLCONF

STATUS_PATHS = {
    JobKind.RENDER: "/api/v2/render/{}/status",
    JobKind.SUBTITLES: "/api/v2/subtitles/{}",
    JobKind.AUTODUB: "/api/v2/autodub/{}",
    JobKind.SEPARATION: "/api/v2/separate/{}",
    JobKind.MIX: "/api/v2/separate/mix/{}",
}
SUCCEEDED_RESULTS = {
    JobKind.RENDER: {"files": {"output": "jobs/x/output.mp4"}},
    JobKind.SUBTITLES: {"originalSrtKey": "jobs/x/original.srt", "translatedSrtKeys": {"ko": "jobs/x/ko.srt"}},
    JobKind.AUTODUB: {"dubbedAudioKey": "jobs/x/dub.mp3", "dubbedVideoKey": "jobs/x/dub.mp4"},
    JobKind.SEPARATION: {},  # no stems: shown FAILED with its reason
    JobKind.MIX: {"mixOutputKey": "jobs/x/mix.mp3"},
}
STATES = {
    "pending": {"status": JobStatus.PENDING},
    "queued between stages": {"status": JobStatus.PENDING, "started_at": timezone.now(), "progress_reason": "queued"},
    "processing": {"status": JobStatus.PROCESSING, "progress": 40, "progress_reason": "Transcribing…"},
    "failed with detail": {
        "status": JobStatus.FAILED,
        "error_code": "ffmpeg_failed",
        "error_detail": "Überlauf: line one\nline two",
    },
    "failed without detail": {"status": JobStatus.FAILED},
    "cancelled": {"status": JobStatus.CANCELLED},
    "succeeded": {"status": JobStatus.SUCCEEDED, "progress": 100},
}
PLAIN_POLLS = {
    "Accept: application/json": {"HTTP_ACCEPT": "application/json"},
    "Accept: */*": {"HTTP_ACCEPT": "*/*"},
    "no Accept": {},
    "a phone's headers": {
        "HTTP_ACCEPT": "application/json",
        "HTTP_ACCEPT_ENCODING": "gzip",
        "HTTP_USER_AGENT": "okhttp",
    },
}
# (method, path suffix, headers) that DRF answers: anything but a plain GET poll.
OTHER_REQUESTS = {
    "Accept: application/xml (406)": ("GET", "", {"HTTP_ACCEPT": "application/xml"}),
    "Accept: text/html (406)": ("GET", "", {"HTTP_ACCEPT": "text/html"}),
    "Accept with indent": ("GET", "", {"HTTP_ACCEPT": "application/json; indent=4"}),
    "Accept: a list": ("GET", "", {"HTTP_ACCEPT": "text/html, application/json;q=0.9"}),
    "?format=json": ("GET", "?format=json", {}),
    "?format=xml (404)": ("GET", "?format=xml", {}),
    "another query string": ("GET", "?since=1", {"HTTP_ACCEPT": "application/json"}),
    "HEAD": ("HEAD", "", {"HTTP_ACCEPT": "application/json"}),
    "OPTIONS": ("OPTIONS", "", {"HTTP_ACCEPT": "application/json"}),
    "POST (405)": ("POST", "", {"HTTP_ACCEPT": "application/json"}),
    "PUT (405)": ("PUT", "", {}),
    "DELETE (405)": ("DELETE", "", {}),
}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """Signed URLs carry an expiry computed from the clock: both sides of a comparison see one second."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)


def _job(owner, kind: str, **fields) -> Job:
    spec = {"targetLanguageCodes": ["ko"]} if kind == JobKind.SUBTITLES else {}
    if fields.get("status") == JobStatus.SUCCEEDED:
        fields = {**fields, "result": SUCCEEDED_RESULTS[kind]}
    return Job.objects.create(public_id=new_public_id(kind), kind=kind, owner=owner, spec=spec, **fields)


def _bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access_token_issue(user=user).token}"}


def _answer(settings, urlconf: str, method: str, url: str, headers: dict[str, str]) -> tuple[tuple, int]:
    """(status, headers in order, body) and how many times DRF's dispatch ran."""
    settings.ROOT_URLCONF = urlconf
    with mock.patch.object(APIView, "dispatch", autospec=True, side_effect=APIView.dispatch) as dispatch:
        response = Client().generic(method, url, HTTP_X_REQUEST_ID="compare-0001", **headers)
    return (response.status_code, list(response.items()), response.content), dispatch.call_count


def _compare(settings, method: str, url: str, headers: dict[str, str], *, fast: bool) -> tuple:
    platform, dispatched = _answer(settings, PLATFORM, method, url, headers)
    drf, drf_dispatched = _answer(settings, DRF_ONLY, method, url, headers)
    assert platform == drf
    assert drf_dispatched == 1
    assert dispatched == (0 if fast else 1), "answered by DRF" if fast else "answered outside DRF"
    return platform


@pytest.mark.parametrize("kind", STATUS_PATHS)
def test_every_kind_and_state_answers_a_plain_poll_as_drf_does_without_its_dispatch(alice, settings, kind):
    bearer = _bearer(alice)
    for state, fields in STATES.items():
        url = STATUS_PATHS[kind].format(_job(alice, kind, **fields).public_id)
        for poll, headers in PLAIN_POLLS.items():
            status, response_headers, body = _compare(settings, "GET", url, {**bearer, **headers}, fast=True)
            assert status == 200, (state, poll, body)
            assert ("Allow", "GET, HEAD, OPTIONS") in response_headers


@pytest.mark.parametrize("kind", [JobKind.RENDER, JobKind.SEPARATION])
def test_every_other_request_is_answered_by_drf(alice, settings, kind):
    url = STATUS_PATHS[kind].format(_job(alice, kind, status=JobStatus.PROCESSING).public_id)
    answered = {}
    for name, (method, suffix, headers) in OTHER_REQUESTS.items():
        answered[name] = _compare(settings, method, url + suffix, {**_bearer(alice), **headers}, fast=False)[0]
    assert answered["Accept: application/xml (406)"] == 406 and answered["POST (405)"] == 405
    assert answered["Accept with indent"] == 200 and answered["HEAD"] == 200


def _expired_token(user) -> str:
    issued = int(time.time()) - 7200
    claims = {
        "sub": user.google_sub,
        "iss": django_settings.AUTH_JWT_ISSUER,
        "aud": django_settings.AUTH_JWT_AUDIENCE,
        "iat": issued,
        "exp": issued + 60,
    }
    return jwt.encode(claims, django_settings.AUTH_JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("kind", STATUS_PATHS)
def test_a_poll_that_fails_is_answered_by_drf_with_drfs_error(alice, bob, django_user_model, settings, kind):
    job = _job(alice, kind, status=JobStatus.PROCESSING)
    other_kind = JobKind.RENDER if kind != JobKind.RENDER else JobKind.SUBTITLES
    url = STATUS_PATHS[kind].format
    deactivated = django_user_model.objects.create(username="google:gone", google_sub="gone", is_active=False)
    json = {"HTTP_ACCEPT": "application/json"}
    failures = {
        "no Authorization (401)": (url(job.public_id), json),
        "a token that is not one (401)": (url(job.public_id), {**json, "HTTP_AUTHORIZATION": "Bearer not-a-jwt"}),
        "an expired token (401)": (
            url(job.public_id),
            {**json, "HTTP_AUTHORIZATION": f"Bearer {_expired_token(alice)}"},
        ),
        "a Basic credential (401)": (url(job.public_id), {**json, "HTTP_AUTHORIZATION": "Basic YWxpY2U6cHc="}),
        "Bearer without a token (401)": (url(job.public_id), {**json, "HTTP_AUTHORIZATION": "Bearer"}),
        "a deactivated user (401)": (url(job.public_id), {**json, **_bearer(deactivated)}),
        "another user's job (404)": (url(job.public_id), {**json, **_bearer(bob)}),
        "no such job (404)": (url(new_public_id(kind)), {**json, **_bearer(alice)}),
        "a job of another kind (404)": (
            url(_job(alice, other_kind, status=JobStatus.PROCESSING).public_id),
            {**json, **_bearer(alice)},
        ),
        "a NUL in the id": (url("rnd-%00"), {**json, **_bearer(alice)}),
    }
    for name, (failing_url, headers) in failures.items():
        status, _, body = _compare(settings, "GET", failing_url, headers, fast=False)
        assert status in (400, 401, 404), (name, status, body)


def test_drf_spectacular_documents_the_status_operations_as_drfs_views():
    platform = SchemaGenerator(urlconf=PLATFORM).get_schema(request=None, public=True)
    drf = SchemaGenerator(urlconf=DRF_ONLY).get_schema(request=None, public=True)
    assert platform == drf
    for status_path in (
        "/api/v2/render/{job_id}/status",
        "/api/v2/subtitles/{job_id}",
        "/api/v2/separate/mix/{mix_job_id}",
    ):
        assert "get" in platform["paths"][status_path]
