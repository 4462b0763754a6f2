"""Domain errors and the one handler that turns every error into `{"error", "detail"}`."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DatabaseError, DataError, InterfaceError, OperationalError, connections
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from apps.core.error_codes import ErrorCode

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can cause or see: an HTTP status, a stable code and an optional detail.

    A subclass names its status and default code in its class line, so the errors read as one table:
    `class NotFound(ApiError, status_code=404, code=ErrorCode.NOT_FOUND): ...`.
    """

    status_code = 400
    code: str = ErrorCode.BAD_REQUEST

    def __init_subclass__(cls, *, status_code: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status_code is not None:
            cls.status_code = status_code
        if code is not None:
            cls.code = code

    def __init__(self, code: str | None = None, detail: str | None = None, *, status_code: int | None = None) -> None:
        self.code = code or self.code
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class BadRequest(ApiError, status_code=400): ...


class Unauthorized(ApiError, status_code=401, code=ErrorCode.UNAUTHORIZED): ...


class Forbidden(ApiError, status_code=403, code=ErrorCode.FORBIDDEN): ...


class NotFound(ApiError, status_code=404, code=ErrorCode.NOT_FOUND): ...


class Conflict(ApiError, status_code=409, code=ErrorCode.CONFLICT): ...


class PayloadTooLarge(ApiError, status_code=413, code=ErrorCode.FILE_TOO_LARGE): ...


class ServiceUnavailable(ApiError, status_code=503, code=ErrorCode.SERVICE_UNAVAILABLE): ...


def close_broken_connections() -> None:
    """Drops dead database connections now, so the next request on this thread reconnects."""
    for database_connection in connections.all(initialized_only=True):
        if database_connection.connection is not None and not database_connection.is_usable():
            database_connection.close()


def error_body(code: str, detail: str | None = None) -> dict[str, str]:
    body = {"error": code}
    if detail:
        body["detail"] = detail
    return body


def _flatten_validation_detail(detail: object) -> str:
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            inner = _flatten_validation_detail(value)
            parts.append(inner if field in ("non_field_errors", "__all__") else f"{field}: {inner}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return "; ".join(_flatten_validation_detail(item) for item in detail)
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error leaves in the project's error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        status, body = exc.status_code, error_body(exc.code, exc.detail)
    elif isinstance(exc, drf_exceptions.ValidationError):
        status, body = 400, error_body(ErrorCode.VALIDATION_ERROR, _flatten_validation_detail(exc.detail))
    elif isinstance(exc, drf_exceptions.ParseError):
        status, body = 400, error_body(ErrorCode.BAD_REQUEST, str(exc.detail))
    elif isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        status, body = 401, error_body(ErrorCode.UNAUTHORIZED, str(exc.detail))
    elif isinstance(exc, drf_exceptions.Throttled):
        status, body = 429, error_body(ErrorCode.RATE_LIMITED, "Too many requests, please try again later")
        wait: float | None = exc.wait  # type: ignore[attr-defined]  # set by Throttled.__init__, missing in the stubs
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    elif isinstance(exc, drf_exceptions.APIException):
        status, body = exc.status_code, error_body(exc.default_code, str(exc.detail))
    elif isinstance(exc, Http404):
        status, body = 404, error_body(ErrorCode.NOT_FOUND)
    elif isinstance(exc, PermissionDenied):
        status, body = 403, error_body(ErrorCode.FORBIDDEN)
    elif isinstance(exc, RequestDataTooBig):
        status, body = 413, error_body(ErrorCode.REQUEST_TOO_LARGE, "A form field is larger than the server accepts")
    elif isinstance(exc, TooManyFilesSent | TooManyFieldsSent):
        status, body = (
            400,
            error_body(ErrorCode.TOO_MANY_PARTS, f"{exc} (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files)"),
        )
    elif isinstance(exc, SuspiciousOperation):
        status, body = 400, error_body(ErrorCode.BAD_REQUEST, "The request could not be processed")
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable during request: %s", exc)
        close_broken_connections()
        status, body = 503, error_body(ErrorCode.SERVICE_UNAVAILABLE, "Database unavailable, please retry")
        headers["Retry-After"] = "5"
    elif isinstance(exc, DataError):
        # A value Postgres cannot hold (a NUL character, an out-of-range number) came from the client.
        logger.warning("database refused a request value: %s", exc)
        status, body = (
            400,
            error_body(ErrorCode.INVALID_INPUT, "A value in the request cannot be stored (e.g. a NUL character)"),
        )
    elif isinstance(exc, DatabaseError):
        logger.exception("database error during request")
        status, body = 500, error_body(ErrorCode.INTERNAL_ERROR)
    else:
        return None
    # Like DRF's own handler: an error answer never commits what the request wrote before failing.
    from rest_framework.views import set_rollback  # not at import time: DRF's views import our settings' classes

    set_rollback()
    auth_header = getattr(exc, "auth_header", None)  # set on an APIException by DRF's authentication check
    if isinstance(exc, drf_exceptions.APIException) and auth_header:
        headers["WWW-Authenticate"] = auth_header
    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return Response(body, status=status, headers=headers)


class JobFailure(Exception):
    """A stage failed for good: the job ends FAILED with this code and a readable detail."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class TransientFailure(Exception):
    """A stage hit a failure that may pass (network, 5xx, 429): the stage is retried with backoff."""

    def __init__(self, code: str, detail: str = "", *, retry_after_sec: float | None = None) -> None:
        self.code = code
        self.detail = detail
        self.retry_after_sec = retry_after_sec
        super().__init__(f"{code}: {detail}" if detail else code)
