"""Slow clients against the embedded web server: 100 connections that send part of their headers
or part of a body hold no thread — /healthz and a status poll still answer at once — and a request
that never completes is dropped by the server's read deadline."""

import socket
import time

import requests

from tests.abuse.conftest import bearer_for, elapsed
from tests.faults.conftest import wait_until

SLOW_CONNECTIONS = 100
# Generous next to the one second the issue asks for: the machine is shared, the point is "not stuck".
ANSWER_TIMEOUT_SEC = 3


def _open_slow(server, count: int) -> list[socket.socket]:
    sockets = []
    for index in range(count):
        connection = server.raw_connection()
        if index % 2:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers never finished
        else:
            connection.sendall(
                b"POST /api/v2/auth/google HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100000\r\n\r\n{"idToken": "'  # body never finished
            )
        sockets.append(connection)
    return sockets


def test_slow_clients_hold_no_thread(server, alice, django_user_model):
    from apps.jobs.models import Job, JobKind
    from apps.jobs.services import job_create

    job, _ = job_create(kind=JobKind.SUBTITLES, owner=alice, spec={}, first_stage=None)
    slow = _open_slow(server, SLOW_CONNECTIONS)
    try:
        time.sleep(0.5)
        healthz_sec, healthz = elapsed(lambda: requests.get(server.url("/healthz"), timeout=ANSWER_TIMEOUT_SEC))
        assert healthz.status_code == 200
        status_sec, status = elapsed(
            lambda: requests.get(
                server.url(f"/api/v2/subtitles/{job.public_id}"), headers=bearer_for(alice), timeout=ANSWER_TIMEOUT_SEC
            )
        )
        print(f"with {SLOW_CONNECTIONS} slow connections: /healthz {healthz_sec:.3f}s, status poll {status_sec:.3f}s")
        assert status.status_code == 200, status.text
        assert Job.objects.filter(pk=job.pk).exists()
    finally:
        for connection in slow:
            connection.close()


def test_a_request_that_trickles_forever_is_dropped(start_server):
    server = start_server(WEB_REQUEST_READ_TIMEOUT_SEC=2, WEB_IDLE_TIMEOUT_SEC=30)
    connection = server.raw_connection()
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    connection.settimeout(0.5)

    def dropped() -> bool:
        try:
            connection.sendall(b"X-Trickle: 1\r\n")  # keeps the idle timeout from ever firing
            return connection.recv(1) == b""
        except TimeoutError:
            return False
        except OSError:
            return True

    try:
        wait_until(dropped, timeout=20, what="the server to drop a request still trickling", every=0.3)
    finally:
        connection.close()
