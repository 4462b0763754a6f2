"""Throttles key on the client address the trusted proxies report (NUM_PROXIES), and the sign-in
throttle is one budget across web processes sharing the Redis cache."""

import os
import sys
import uuid
from pathlib import Path

import pytest
import requests
from rest_framework.test import APIClient

from apps.accounts.api import SignInThrottle
from tests.faults.conftest import Processes, free_loopback_port, wait_until
from tests.support.network import healthz_answers

ROOT = Path(__file__).resolve().parent.parent.parent
SIGN_IN = "/api/v2/auth/google"

pytestmark = pytest.mark.django_db


@pytest.fixture
def proxies(settings, monkeypatch):
    monkeypatch.setattr(SignInThrottle, "THROTTLE_RATES", {"sign_in": "10/min"})

    def configure(count: int) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return configure


def test_without_trusted_proxies_a_varied_forwarded_for_never_escapes_the_throttle(proxies):
    proxies(0)
    client = APIClient()
    statuses = [
        client.post(SIGN_IN, {}, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(30)
    ]
    assert 429 not in statuses[:10]
    assert statuses[10:] == [429] * 20


def test_with_one_trusted_proxy_the_right_most_hop_is_the_client(proxies):
    proxies(1)
    client = APIClient()
    # The client may put anything left of what the proxy appends; only the right-most address counts.
    spoofed = [
        client.post(SIGN_IN, {}, format="json", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7").status_code
        for n in range(12)
    ]
    assert 429 not in spoofed[:10] and spoofed[10:] == [429, 429]
    other_client = client.post(SIGN_IN, {}, format="json", HTTP_X_FORWARDED_FOR="10.9.9.1, 203.0.113.8")
    assert other_client.status_code != 429


def test_the_sign_in_throttle_holds_across_two_web_processes_sharing_the_cache(tmp_path):
    harness = Processes(tmp_path)
    prefix = f"throttle-{uuid.uuid4().hex[:8]}"
    ports = [free_loopback_port(), free_loopback_port()]
    try:
        for index, port in enumerate(ports):
            folder = tmp_path / f"web{index}"
            folder.mkdir()
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(folder),
                "PYTHONPATH": str(ROOT),
                "VIBI_DATA_DIR": str(folder / "data"),
                "CACHE_URL": "redis://127.0.0.1:6379/15",
                "CACHE_KEY_PREFIX": prefix,
                "THROTTLE_SIGN_IN": "6/min",
            }
            argv = [
                str(Path(sys.executable).parent / "gunicorn"), "--config", "python:vibi.gunicorn_config",
                "--bind", f"127.0.0.1:{port}", "--workers", "2", "vibi.wsgi",
            ]  # fmt: skip
            harness.start(f"web{index}", argv, env)
        for port in ports:
            wait_until(lambda port=port: healthz_answers(f"http://127.0.0.1:{port}"), timeout=60, what=f"web on {port}")
        statuses = [
            requests.post(f"http://127.0.0.1:{ports[n % 2]}{SIGN_IN}", json={}, timeout=10).status_code
            for n in range(12)
        ]
        assert 429 not in statuses[:6], statuses
        assert statuses[6:] == [429] * 6, statuses
        # each instance keeps its control socket under its own data folder
        assert all((tmp_path / f"web{index}" / "data" / "run" / "gunicorn.ctl").exists() for index in range(2))
    finally:
        harness.kill_all()


def test_by_default_no_proxy_is_trusted(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
