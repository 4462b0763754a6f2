"""The embedded default (`make run`) runs the simulators in their own process: a flood of chat
requests (each calls the Gemini simulator synchronously) larger than web's thread pool is answered
(served, or refused at once by the chat bulkhead), and /healthz and the admin keep answering meanwhile. With the simulators served by web's own
threads, every thread would wait on a simulator request that needs a thread, until Gemini's timeout."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import Processes, free_loopback_port, wait_until
from tests.support.network import healthz_answers

ROOT = Path(__file__).resolve().parent.parent.parent
WEB_THREADS = 16  # run_platform's web server (waitress, WEB_THREADS)
FLOOD = 3 * WEB_THREADS

pytestmark = pytest.mark.timeout(240)


def test_a_chat_flood_larger_than_the_thread_pool_leaves_health_and_admin_answering(tmp_path):
    harness = Processes(tmp_path)
    port, simulators_port = free_loopback_port(), free_loopback_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VIBI_DATA_DIR": str(tmp_path / "data"),
        "THROTTLE_CHAT": "10000/min",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [sys.executable, str(ROOT / "manage.py"), "run_platform", "--port", str(port),
            "--simulators-port", str(simulators_port)]  # fmt: skip
    try:
        harness.start("platform", argv, env)
        base, sims = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{simulators_port}"
        started = time.monotonic()
        wait_until(lambda: healthz_answers(base) and healthz_answers(sims), timeout=120, what="make run")
        print(f"run_platform answered after {time.monotonic() - started:.0f}s")
        started = time.monotonic()
        claims = {"sub": "flood", "email": "flood@example.com", "aud": "vibi-embedded.apps.googleusercontent.com"}
        id_token = requests.post(f"{sims}/sim/google/token", json=claims, timeout=30).json()["idToken"]
        token = requests.post(f"{base}/api/v2/auth/google", json={"idToken": id_token}, timeout=30).json()[
            "accessToken"
        ]

        def chat(index: int) -> tuple[int, str]:
            body = {"messages": [{"role": "user", "content": f"make clip {index} brighter"}], "locale": "en"}
            headers = {"Authorization": f"Bearer {token}"}
            answer = requests.post(f"{base}/api/v2/chat", json=body, headers=headers, timeout=90)
            return answer.status_code, answer.json().get("error", "") if answer.status_code != 200 else ""

        with ThreadPoolExecutor(max_workers=FLOOD) as pool:
            flood = [pool.submit(chat, index) for index in range(FLOOD)]
            # While the flood is in flight: the probes and the admin answer (a lock-up would time out).
            assert requests.get(f"{base}/healthz", timeout=60).status_code == 200
            assert requests.get(f"{base}/admin/login/", timeout=60).status_code == 200
            statuses = [future.result() for future in flood]
        # Each turn is answered: served, or refused at once by the chat bulkhead (CHAT_MAX_IN_FLIGHT) so
        # the other threads stay free — never left hanging on a thread the simulators would need.
        assert {status for status in statuses} <= {(200, ""), (503, "busy")}, statuses
        assert (200, "") in statuses, statuses
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        print(f"flood of {FLOOD} chats done after {time.monotonic() - started:.0f}s")
        # every process's runtime files under its own data folder
        assert (tmp_path / "data" / "simulators" / "run" / "gunicorn.pid").exists()
    finally:
        if "platform" in harness.running:
            harness.kill("platform")  # SIGKILL to the group: run_platform and every process it started
        report = harness.log_tails()
        if "Traceback" in report:
            print(report)
