"""Rate limits, early refusal of oversized bodies, and a clean 503 when Postgres drops the connection."""

import pytest
from rest_framework.throttling import ScopedRateThrottle

from apps.core.throttling import SubmitRateThrottle

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "body_format"),
    [("/api/v2/chat", "json"), ("/api/v2/separate", "multipart"), ("/api/v2/render", "multipart")],
)
def test_submits_are_rate_limited_per_user_with_retry_after(alice_client, bob_client, monkeypatch, path, body_format):
    rates = {"submit": "3/min", "chat": "3/min"}
    monkeypatch.setattr(SubmitRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    statuses = [alice_client.post(path, {}, format=body_format).status_code for _ in range(4)]
    assert statuses[:3] == [400, 400, 400] and statuses[3] == 429
    limited = alice_client.post(path, {}, format=body_format)
    assert limited.json()["error"] == "rate_limited" and int(limited["Retry-After"]) >= 1
    assert bob_client.post(path, {}, format=body_format).status_code == 400  # per user
    assert alice_client.get("/api/v2/render/rnd-unknown/status").status_code == 404  # polls are never limited


def test_sign_in_is_rate_limited_per_ip(client, monkeypatch):
    from apps.accounts.api import SignInThrottle

    monkeypatch.setattr(SignInThrottle, "THROTTLE_RATES", {"sign_in": "2/min"})
    statuses = [
        client.post("/api/v2/auth/google", {"idToken": ""}, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_body_announced_larger_than_the_limit_is_refused_before_reading(alice_client, settings):
    settings.MAX_REQUEST_BODY_MB = 1
    response = alice_client.generic(
        "POST",
        "/api/v2/separate",
        b"x" * 10,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


@pytest.mark.django_db(transaction=True)
def test_postgres_connection_drop_is_a_clean_503_and_the_next_request_works(alice_client, drop_database_connection):
    assert alice_client.get("/api/v2/render/rnd-missing/status").status_code == 404
    drop_database_connection()
    dropped = alice_client.get("/api/v2/render/rnd-missing/status")
    assert dropped.status_code == 503
    assert dropped.json()["error"] == "service_unavailable" and dropped["Retry-After"]
    assert alice_client.get("/api/v2/render/rnd-missing/status").status_code == 404


def test_deploy_check_wants_a_csrf_middleware_and_accepts_the_browser_subclass(settings):
    from apps.core.checks import csrf_middleware_check

    assert "apps.core.middleware.BrowserCsrfViewMiddleware" in settings.MIDDLEWARE
    assert csrf_middleware_check() == []
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if "Csrf" not in path]
    assert [warning.id for warning in csrf_middleware_check()] == ["vibi.W003"]
