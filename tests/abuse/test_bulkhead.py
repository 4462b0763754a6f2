"""Chat turns against a Gemini that never answers: each turn ends in a clean 503 in the error shape
within its deadline, and 50 of them at once leave /healthz, a status poll and the admin answering."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from apps.jobs.models import JobKind
from apps.jobs.services import job_create
from tests.abuse.conftest import bearer_for, elapsed

CHAT_BODY = {"messages": [{"role": "user", "content": "make the music quieter"}]}
ANSWER_TIMEOUT_SEC = 3


def test_chat_turn_against_a_silent_gemini_is_a_clean_503(start_server, silent_upstream, alice):
    server = start_server(GEMINI_BASE_URL=silent_upstream.url, CHAT_GEMINI_DEADLINE_SEC=2)
    # The unfixed server waits 120 s per attempt, 4 attempts: far beyond this timeout.
    response = requests.post(server.url("/api/v2/chat"), json=CHAT_BODY, headers=bearer_for(alice), timeout=30)
    assert response.status_code == 503, response.text
    assert response.json()["error"] and "Retry-After" in response.headers


def test_fifty_concurrent_chat_turns_leave_the_server_answering(start_server, silent_upstream, alice):
    server = start_server(GEMINI_BASE_URL=silent_upstream.url, CHAT_GEMINI_DEADLINE_SEC=6, THROTTLE_CHAT="1000/min")
    job, _ = job_create(kind=JobKind.SUBTITLES, owner=alice, spec={}, first_stage=None)
    headers = bearer_for(alice)
    barrier = threading.Barrier(50)

    def chat_turn(_):
        barrier.wait()
        try:
            return requests.post(server.url("/api/v2/chat"), json=CHAT_BODY, headers=headers, timeout=60).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=50) as pool:
        turns = pool.map(chat_turn, range(50))
        threading.Event().wait(1.0)  # the turns are in flight (the deadline is 6 s)
        healthz_sec, healthz = elapsed(lambda: requests.get(server.url("/healthz"), timeout=ANSWER_TIMEOUT_SEC))
        poll_sec, poll = elapsed(
            lambda: requests.get(
                server.url(f"/api/v2/subtitles/{job.public_id}"), headers=headers, timeout=ANSWER_TIMEOUT_SEC
            )
        )
        admin_sec, admin = elapsed(lambda: requests.get(server.url("/admin/login/"), timeout=ANSWER_TIMEOUT_SEC))
        print(f"50 chat turns in flight: /healthz {healthz_sec:.3f}s, poll {poll_sec:.3f}s, admin {admin_sec:.3f}s")
        statuses = list(turns)
    assert (healthz.status_code, poll.status_code, admin.status_code) == (200, 200, 200)
    assert set(statuses) == {503}, statuses
