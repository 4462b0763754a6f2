"""Loopback ports and servers of the processes a test starts."""

import socket
import threading

import requests


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthz_answers(base: str, *, timeout: float = 2) -> bool:
    """The server at `base` answers /healthz with 200 (False while it is down or starting)."""
    try:
        return requests.get(f"{base}/healthz", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def redis_answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class SilentUpstream:
    """A TCP server that reads requests and never answers: the slowest possible upstream (a real
    Gemini that hangs cannot be produced here any other way)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()
