"""gunicorn settings every gunicorn process uses (`--config python:vibi.gunicorn_config`).

Its runtime files live under its own data folder (VIBI_DATA_DIR), so two instances under one HOME
never share a control socket or pid file. gunicorn's own refusals (malformed request 400, request
line too long 414, header fields too large 431) leave in the API's error shape instead of an HTML
page, and the access log never shows a credential from a query string (signed-URL tokens). Slow
clients are the buffering reverse proxy's job in production (client header/body timeouts in front).
"""

import json
import os
from pathlib import Path

from gunicorn import util
from gunicorn.glogging import Logger

from apps.core.access_log import redact_query

_run_dir = Path(os.environ.get("VIBI_DATA_DIR") or Path(__file__).resolve().parent.parent / "data").resolve() / "run"
_run_dir.mkdir(parents=True, exist_ok=True)

control_socket = str(_run_dir / "gunicorn.ctl")
pidfile = str(_run_dir / "gunicorn.pid")

_CODES = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large", 413: "request_too_large"}


def _write_error_shape(sock, status_int, reason, mesg):
    body = json.dumps({"error": _CODES.get(status_int, "bad_request"), "detail": f"{reason}: {mesg}"}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = _write_error_shape


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        query = redact_query(environ.get("QUERY_STRING", ""))
        path = environ.get("PATH_INFO", "")
        atoms["q"] = query
        atoms["r"] = f"{environ['REQUEST_METHOD']} {path}{'?' + query if query else ''} {environ['SERVER_PROTOCOL']}"
        return atoms


logger_class = RedactingLogger
accesslog = "-"
