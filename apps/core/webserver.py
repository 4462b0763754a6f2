"""The embedded web server: waitress, a buffering server, so slow clients never hold a thread.

waitress reads every request (headers and body, the body spooled to a temp file) on its event
loop and hands it to a thread only once it is complete: a client that trickles its headers or
body costs a socket, never one of the application's threads. On top of waitress's idle timeout
(`channel_timeout`), a request whose headers and body are not complete within
WEB_REQUEST_READ_TIMEOUT_SEC is dropped however steadily it trickles. The server's own refusals
(400, 413, 431) answer in the API's error shape, and the access log never shows a token.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import waitress
from django.conf import settings
from waitress import utilities
from waitress.channel import HTTPChannel
from waitress.utilities import Error as WaitressError

from apps.core.access_log import redact_query
from apps.core.error_codes import ErrorCode

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

access_logger = logging.getLogger("vibi.access")

_SERVER_ERROR_CODES = {
    400: ErrorCode.BAD_REQUEST,
    413: ErrorCode.REQUEST_TOO_LARGE,
    414: ErrorCode.URI_TOO_LONG,
    431: ErrorCode.HEADERS_TOO_LARGE,
}


def _error_shape_response(self: WaitressError, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    """waitress's own refusals (malformed request, headers or body too large) as `{"error", "detail"}`."""
    code = _SERVER_ERROR_CODES.get(self.code, ErrorCode.BAD_REQUEST if self.code < 500 else ErrorCode.INTERNAL_ERROR)
    body = json.dumps({"error": code, "detail": f"{self.reason}: {self.body}"}).encode()
    headers = [("Content-Type", "application/json"), ("Connection", "close")]
    return f"{self.code} {self.reason}", headers, body


class ReadDeadlineChannel(HTTPChannel):  # type: ignore[misc]  # waitress ships no type stubs
    """Remembers when the request it is reading started, so the server can drop it when late."""

    reading_since: float | None = None

    def received(self, data: bytes) -> bool:
        started = self.reading_since or time.time()
        result: bool = super().received(data)
        self.reading_since = started if self.request is not None else None
        return result


class AccessLog:
    """WSGI middleware writing one line per request: method, path, redacted query, status, time."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        status_holder: list[str] = []

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: "OptExcInfo | None" = None
        ) -> Callable[[bytes], object]:
            status_holder.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.application(environ, recording_start_response)
        finally:
            query = redact_query(environ.get("QUERY_STRING", ""))
            access_logger.info(
                '%s "%s %s%s" %s %.0fms',
                environ.get("REMOTE_ADDR", "-"),
                environ.get("REQUEST_METHOD", "-"),
                environ.get("PATH_INFO", ""),
                f"?{query}" if query else "",
                (status_holder[-1].split(" ", 1)[0] if status_holder else "-"),
                (time.monotonic() - started) * 1000,
            )


def serve(application: WSGIApplication, *, host: str, port: int) -> None:
    utilities.Error.to_response = _error_shape_response
    read_timeout = settings.WEB_REQUEST_READ_TIMEOUT_SEC
    server = waitress.create_server(
        AccessLog(application),
        host=host,
        port=port,
        threads=settings.WEB_THREADS,
        connection_limit=settings.WEB_CONNECTION_LIMIT,
        channel_timeout=settings.WEB_IDLE_TIMEOUT_SEC,
        cleanup_interval=1,
        max_request_header_size=settings.WEB_MAX_HEADER_BYTES,
        # The application refuses big bodies itself (413 in the error shape, MAX_REQUEST_BODY_MB).
        max_request_body_size=settings.MAX_REQUEST_BODY_MB * 1024 * 1024 + 1024 * 1024,
        ident="vibi",
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    )
    server.channel_class = ReadDeadlineChannel
    idle_maintenance = server.maintenance

    def maintenance(now: float) -> None:
        idle_maintenance(now)
        for channel in list(server.active_channels.values()):
            reading_since = getattr(channel, "reading_since", None)
            if not channel.requests and reading_since is not None and now - reading_since > read_timeout:
                channel.will_close = True

    server.maintenance = maintenance
    server.print_listen("vibi web serving on http://{}:{}")
    server.run()
