"""The Gemini client's bounds (issue 15 item 8, issue 14): one client per process, the delay Gemini
suggests on a 429 honoured, and a deadline that caps the attempts and the time of a call made
inside a web request."""

import socket
import threading

import pytest
from google.genai import errors as genai_errors
from google.genai import types

from apps.gemini.client import (
    GeminiUnavailable,
    gemini_deadline,
    genai_client,
    generate_content,
    suggested_retry_delay,
)
from apps.jobs.models import ExternalCall
from tests.gemini.sim import gemini_sim_control

CONTENTS = [types.Content(role="user", parts=[types.Part(text="hello")])]


def test_one_client_per_process_and_configuration(gemini_sim, settings):
    first = genai_client()
    assert genai_client() is first
    settings.GEMINI_API_KEY = "another-key"
    assert genai_client() is not first


def test_the_retry_delay_gemini_suggests_is_read_from_its_429(gemini_sim, settings):
    gemini_sim_control(gemini_sim, fail_next=[429])
    with pytest.raises(genai_errors.APIError) as caught:
        genai_client().models.generate_content(model=settings.GEMINI_MODEL, contents=CONTENTS)
    assert caught.value.code == 429
    assert suggested_retry_delay(caught.value) == pytest.approx(0.2)


def test_a_429_is_retried_after_the_suggested_delay(gemini_sim):
    gemini_sim_control(gemini_sim, fail_next=[429])
    generate_content(contents=CONTENTS, config=None, purpose="test")
    assert list(ExternalCall.objects.order_by("pk").values_list("status_code", flat=True)) == [429, 200]


@pytest.fixture
def silent_gemini(settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    yield
    listener.close()
    for connection in held:
        connection.close()


def test_a_deadline_caps_attempts_and_time(db, silent_gemini, settings):
    settings.GEMINI_MAX_ATTEMPTS = 4
    settings.GEMINI_TIMEOUT_SEC = 120
    settings.GEMINI_BACKOFF_BASE_MS = 10
    with gemini_deadline(seconds=2, max_attempts=2), pytest.raises(GeminiUnavailable):
        generate_content(contents=CONTENTS, config=None, purpose="test")
    # Without the deadline each attempt would wait 120 s; with it, at most 2 attempts within 2 s.
    assert 1 <= ExternalCall.objects.count() <= 2
