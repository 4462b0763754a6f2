"""HTTP details against the embedded web server: If-Range per RFC 9110, 405 before 429, the WSGI
server's own refusals in the error shape, bounded JWT lifetimes, no token in the access log."""

import json
import socket
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import requests
from django.conf import settings
from django.utils import timezone

from apps.jobs.models import Job, JobKind, JobStatus
from apps.subtitles.selectors import signed_srt_url
from apps.subtitles.services import RESULT_ORIGINAL_KEY
from tests.abuse.conftest import bearer_for

SRT = b"1\n00:00:00,000 --> 00:00:01,000\nhello\n\n" * 50


def _ready_srt_job(owner) -> Job:
    key = f"jobs/abuse-{time.monotonic_ns()}/original.srt"
    path = Path(settings.DATA_DIR) / "media" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(SRT)
    return Job.objects.create(
        public_id=f"sub-abuse-{time.monotonic_ns()}",
        kind=JobKind.SUBTITLES,
        owner=owner,
        status=JobStatus.SUCCEEDED,
        spec={},
        result={RESULT_ORIGINAL_KEY: key},
        expires_at=timezone.now() + timedelta(days=2),
    )


def test_if_range_with_a_validator_that_does_not_match_gets_the_whole_file(shared_server, alice):
    url = shared_server.url(signed_srt_url(job=_ready_srt_job(alice), lang="original"))
    first = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=30)
    assert first.status_code == 206 and first.headers.get("ETag"), first.headers
    matching = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": first.headers["ETag"]}, timeout=30)
    assert matching.status_code == 206 and matching.content == SRT[:10]
    for stale in ['"not-the-etag"', 'W/"weak"', "Wed, 21 Oct 2015 07:28:00 GMT"]:
        response = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": stale}, timeout=30)
        assert response.status_code == 200 and response.content == SRT, (stale, response.status_code)
    by_date = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": first.headers["Last-Modified"]}, timeout=30)
    assert by_date.status_code == 206


def test_unsupported_method_is_405_even_when_throttled(start_server, alice):
    server = start_server(THROTTLE_SUBMIT="1/min", THROTTLE_CHAT="1/min")
    headers = bearer_for(alice)
    requests.post(server.url("/api/v2/subtitles"), headers=headers, files={"x": (None, "1")}, timeout=30)
    requests.post(server.url("/api/v2/chat"), headers=headers, json={}, timeout=30)
    assert requests.post(server.url("/api/v2/chat"), headers=headers, json={}, timeout=30).status_code == 429
    for method, path in [("PUT", "/api/v2/subtitles"), ("GET", "/api/v2/chat"), ("DELETE", "/api/v2/chat")]:
        response = requests.request(method, server.url(path), headers=headers, timeout=30)
        assert response.status_code == 405, (method, path, response.status_code)
        assert response.json()["error"]


def _raw(server, payload: bytes) -> tuple[int, bytes, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(payload)
        received = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:  # the server closed with unread bytes of ours, after answering
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


@pytest.mark.parametrize("web", ["server", "production_web"])
def test_the_web_servers_own_refusals_are_in_the_error_shape(web, request):
    server = request.getfixturevalue(web)

    # waitress (embedded) refuses once past its 64 KiB limit, having read every byte sent; gunicorn
    # (production) checks a header line or request line once it is complete.
    big = 70_000 if web == "server" else 10_000
    end = b"" if web == "server" else b"\r\n\r\n"
    cases = {
        "malformed request line": b"GARBAGE\r\n\r\n",
        "huge header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * big + end,
        "huge URI": b"GET /api/v2/" + b"a" * big + (b" HTTP/1.1\r\nHost: x\r\n\r\n" if end else b""),
        "bad content-length": b"POST /api/v2/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    }
    for name, payload in cases.items():
        status, head, body = _raw(server, payload)
        assert 400 <= status < 500, (name, status)
        assert b"application/json" in head.lower(), (name, head)
        assert json.loads(body)["error"], (name, body)


def _token(user, *, lifetime: int) -> str:
    now = int(time.time())
    claims = {
        "sub": user.google_sub,
        "iss": settings.AUTH_JWT_ISSUER,
        "aud": settings.AUTH_JWT_AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, settings.AUTH_JWT_SECRET, algorithm="HS256")


def test_a_jwt_living_beyond_the_maximum_is_refused(shared_server, alice):
    url = shared_server.url("/api/v2/subtitles/sub-nothing")
    good = requests.get(url, headers={"Authorization": f"Bearer {_token(alice, lifetime=3600)}"}, timeout=30)
    assert good.status_code == 404
    for lifetime in [settings.AUTH_JWT_MAX_LIFETIME_SECONDS + 3600, 100 * 365 * 24 * 3600]:
        forever = requests.get(url, headers={"Authorization": f"Bearer {_token(alice, lifetime=lifetime)}"}, timeout=30)
        assert forever.status_code == 401, lifetime
        assert forever.json()["error"] == "invalid_token"


@pytest.mark.parametrize("web", ["server", "production_web"])
def test_signed_url_tokens_never_reach_the_access_log(web, request, alice, abuse_processes):
    server = request.getfixturevalue(web)
    url = server.url(signed_srt_url(job=_ready_srt_job(alice), lang="original"))
    token = url.split("token=")[1].split("&")[0]
    assert requests.get(url, timeout=30).status_code == 200
    requests.get(server.url("/api/v2/subtitles/x/srt?token=secret-value-123&lang=en"), timeout=30)
    time.sleep(0.5)
    log = "\n".join(path.read_text(errors="replace") for path in abuse_processes.logs)
    assert "/srt?" in log
    assert token not in log and "secret-value-123" not in log
