"""Rate limits cover every state-changing operation of the schema and never a poll or a download.

The operations come from the same generator that serves /api/schema, so an endpoint added later is
covered (or fails here) without editing this file.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from apps.accounts.api import SignInThrottle
from apps.core.throttling import SubmitRateThrottle

pytestmark = pytest.mark.django_db


def _operations() -> list[tuple[str, str, str, str]]:
    """(operationId, METHOD, concrete path, body format) of every documented operation."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            content_types = list((operation.get("requestBody") or {}).get("content", {}))
            body_format = "json" if content_types and content_types[0] == "application/json" else "multipart"
            concrete = re.sub(r"\{[^}]+\}", "unknown-id", path)
            operations.append((operation["operationId"], method.upper(), concrete, body_format))
    return sorted(operations)


OPERATIONS = _operations()
SUBMITS = [operation for operation in OPERATIONS if operation[1] != "GET"]
READS = [operation for operation in OPERATIONS if operation[1] == "GET"]


@pytest.fixture
def tight_rates(monkeypatch):
    rates = {"submit": "2/min", "chat": "2/min", "sign_in": "2/min"}
    for throttle_class in (SubmitRateThrottle, ScopedRateThrottle, SignInThrottle):
        monkeypatch.setattr(throttle_class, "THROTTLE_RATES", rates)


def test_the_schema_has_submits_and_reads():
    assert {operation[0] for operation in SUBMITS} >= {
        "auth_google",
        "subtitles_submit",
        "subtitles_regenerate",
        "autodub_submit",
        "separation_submit",
        "separation_mix_submit",
        "render_create",
        "render_inputs_create",
        "chat",
    }
    assert len(READS) >= 12


@pytest.mark.parametrize(("operation_id", "method", "path", "body_format"), SUBMITS, ids=[op[0] for op in SUBMITS])
def test_every_submit_is_rate_limited_with_retry_after(
    operation_id, method, path, body_format, tight_rates, alice_client, bob_client
):
    anonymous = operation_id == "auth_google"  # sign-in is limited per IP, everything else per user
    client = APIClient() if anonymous else alice_client
    statuses = [client.generic(method, path).status_code for _ in range(2)]
    assert 429 not in statuses
    limited = client.post(path, {}, format=body_format)
    assert limited.status_code == 429, (operation_id, limited.status_code)
    assert limited.json()["error"] == "rate_limited" and set(limited.json()) <= {"error", "detail"}
    assert int(limited["Retry-After"]) >= 1
    if not anonymous:
        assert bob_client.post(path, {}, format=body_format).status_code != 429  # each user has their own budget


@pytest.mark.parametrize(("operation_id", "method", "path", "body_format"), READS, ids=[op[0] for op in READS])
def test_polls_and_downloads_are_never_rate_limited(
    operation_id, method, path, body_format, tight_rates, alice_client, client, settings
):
    settings.PERSO_API_BASE_URL = "http://127.0.0.1:9"  # no Perso here: the languages list fails fast
    settings.PERSO_RETRY_BASE_MS = 1
    for _ in range(6):
        assert alice_client.get(path).status_code != 429, operation_id
        assert client.get(path).status_code != 429, operation_id
