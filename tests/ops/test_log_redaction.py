"""Nothing secret reaches a log line: secrets by shape (JWTs, bearer headers, API-key headers, URL
signatures, SAS and SigV4 query strings) and this deployment's secret values by value."""

import json
import logging

import pytest

from apps.observability.context import log_context_end, log_context_start, request_id_from_header
from apps.observability.logging import REDACTED, ContextFilter, JsonFormatter, PlainFormatter, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"token was {JWT}", JWT),
        ("headers {'Authorization': 'Bearer abcdefgh12345678'}", "abcdefgh12345678"),
        ("x-api-key: pk-abcdef0123456789", "pk-abcdef0123456789"),
        ('{"x-goog-api-key": "AIzaSyA-1234567890abcdef"}', "AIzaSyA-1234567890abcdef"),
        (
            "GET https://acct.blob.core.windows.net/c/f.wav?sv=2024-01-01&se=2026&sig=Zm9vYmFy%2Bc2ln&sp=w",
            "Zm9vYmFy%2Bc2ln",
        ),
        ("GET /s3/b/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=deadbeefcafe1234&X-Amz-Date=1", "deadbeefcafe1234"),
        ("GET /api/v2/separation/sep-1/stems/vocals?token=1767225600.abcDEF123_-x 200", "1767225600.abcDEF123_-x"),
        ("calling https://generativelanguage.googleapis.com/v1/models?key=AIzaSyBsecret", "AIzaSyBsecret"),
    ],
)
def test_secret_shapes_are_redacted(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned and REDACTED in cleaned


def test_configured_secret_values_are_redacted(settings):
    from apps.observability import logging as observability_logging

    settings.PERSO_API_KEY = "perso-key-value-that-is-long"
    observability_logging._configured_secrets.cache_clear()
    try:
        assert "perso-key-value-that-is-long" not in redact("sent perso-key-value-that-is-long upstream")
    finally:
        observability_logging._configured_secrets.cache_clear()


def test_ordinary_lines_are_left_alone():
    line = "GET /api/v2/subtitles/sub-1 200 12ms job=sub-1 stage=upload attempt=2"
    assert redact(line) == line


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("vibi.test", logging.INFO, __file__, 1, message, (), None)
    ContextFilter().filter(record)
    return record


def test_json_and_plain_lines_carry_the_context_and_are_redacted():
    token = log_context_start(request_id="req-12345678", job_id="sub-1", user_id=7, task="t", queue="q", attempt=2)
    try:
        json_line = json.loads(JsonFormatter().format(_record(f"auth Bearer {JWT}")))
        plain_line = PlainFormatter().format(_record("hello"))
    finally:
        log_context_end(token)
    assert json_line["request_id"] == "req-12345678" and json_line["job_id"] == "sub-1" and json_line["user_id"] == 7
    assert json_line["queue"] == "q" and json_line["attempt"] == 2 and JWT not in json_line["message"]
    assert "request_id=req-12345678" in plain_line and "job_id=sub-1" in plain_line


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("phone-0123456789abcdef", True),
        ("3f2a9c1e-0b7d-4e55-9a41-6b1d2c3e4f50", True),
        ("short", False),
        ("has space in it", False),
        ("x" * 200, False),
        ("inject\nnewline-0123", False),
        ('quote"0123456789', False),
        (None, False),
    ],
)
def test_request_id_kept_only_when_sane(sent, kept):
    chosen = request_id_from_header(sent)
    assert (chosen == sent) is kept
    assert 8 <= len(chosen) <= 100


@pytest.mark.django_db
def test_request_id_is_echoed(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="phone-abcdef0123")["X-Request-ID"] == "phone-abcdef0123"
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ContextFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.mark.django_db
def test_job_urls_name_their_job_and_user_on_the_request_line(alice, alice_client):
    collect = _Collect()
    logger = logging.getLogger("vibi.request")
    logger.addHandler(collect)
    try:
        alice_client.get("/api/v2/subtitles/sub-00000000-0000-0000-0000-000000000000")
    finally:
        logger.removeHandler(collect)
    (line,) = collect.records
    assert line.job_id == "sub-00000000-0000-0000-0000-000000000000"
    assert line.user_id == alice.pk and len(line.request_id) == 32
