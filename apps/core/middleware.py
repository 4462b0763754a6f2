"""Keeps HTML error pages off `/api/`: Django-level 404/405/413/500 there answer in the error shape;
spares busy connections Django's per-request database health check; runs the browser's middleware
(sessions, CSRF, session user, messages) everywhere but on `/api/`."""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponseBase, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.deprecation import MiddlewareMixin

from apps.core.error_codes import ErrorCode
from apps.core.errors import close_broken_connections, error_body

logger = logging.getLogger(__name__)


def _announced_body_too_large(request: HttpRequest) -> bool:
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return announced > settings.MAX_REQUEST_BODY_MB * 1024 * 1024


def _body_length_unknown(request: HttpRequest) -> bool:
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked and not request.META.get("CONTENT_LENGTH")


_PLAIN_ERRORS = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    411: ErrorCode.LENGTH_REQUIRED,
    413: ErrorCode.REQUEST_TOO_LARGE,
    500: ErrorCode.INTERNAL_ERROR,
}


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path.startswith("/api/") and _announced_body_too_large(request):
            return JsonResponse(
                error_body(ErrorCode.REQUEST_TOO_LARGE, f"Request body exceeds {settings.MAX_REQUEST_BODY_MB}MB"),
                status=413,
            )
        if request.path.startswith("/api/") and _body_length_unknown(request):
            # Django reads a WSGI body only up to its Content-Length: a chunked body would arrive empty
            # (and unbounded if it were read), so it is refused before a byte of it is read.
            return JsonResponse(
                error_body(
                    ErrorCode.LENGTH_REQUIRED, "Send the request body with a Content-Length (no chunked encoding)"
                ),
                status=411,
            )
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        content_type = response.get("Content-Type", "")
        if response.status_code in _PLAIN_ERRORS and not content_type.startswith("application/json"):
            return JsonResponse(error_body(_PLAIN_ERRORS[response.status_code]), status=response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                error_body(ErrorCode.REQUEST_TOO_LARGE, "A form field is larger than the server accepts"), status=413
            )
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable during request: %s", exception)
            close_broken_connections()
            response = JsonResponse(
                error_body(ErrorCode.SERVICE_UNAVAILABLE, "Database unavailable, please retry"), status=503
            )
            response["Retry-After"] = "5"
            return response
        logger.exception("unhandled error on %s", request.path)
        return JsonResponse(error_body(ErrorCode.INTERNAL_ERROR), status=500)


class DatabaseHealthCheckIntervalMiddleware:
    """With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that
    reuses a connection: a second round trip on every status poll. A connection that passed a check
    less than DATABASE_HEALTH_CHECK_INTERVAL_SEC ago is trusted for this request instead; one that
    breaks inside that window fails its query like one that breaks right after a check (a 503 with
    Retry-After, and the connection is dropped). Must come before any middleware that queries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        interval = settings.DATABASE_HEALTH_CHECK_INTERVAL_SEC
        now = time.monotonic()
        unchecked: list[Any] = []
        database: Any  # health_check_enabled / health_check_done are set by Django's backends, not in the stubs
        for database in connections.all(initialized_only=True):
            if database.connection is None or not database.health_check_enabled or database.health_check_done:
                continue
            if now - getattr(database, "vibi_health_checked_at", float("-inf")) < interval:
                database.health_check_done = True
            else:
                unchecked.append(database)
        response = self.get_response(request)
        for database in unchecked:
            # Checked during this request (or reconnected, which is as good): trusted from `now` on.
            if database.connection is not None and database.health_check_done and not database.errors_occurred:
                database.vibi_health_checked_at = now
        return response


API_PREFIX = "/api/"


class _NotOnApi(MiddlewareMixin):
    """A browser middleware that `/api/` requests pass by: the API authenticates by Bearer JWT only
    (no session, no cookie, so nothing for CSRF to protect) and answers JSON (no messages). Every other
    path (admin, swagger, probes) runs it unchanged."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)  # under ASGI the awaitable of the next middleware
        return super().__call__(request)


class BrowserSessionMiddleware(_NotOnApi, SessionMiddleware):
    pass


class BrowserCsrfViewMiddleware(_NotOnApi, CsrfViewMiddleware):
    def process_view(
        self, request: HttpRequest, callback: Callable[..., Any], callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseForbidden | None:
        if request.path.startswith(API_PREFIX):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class BrowserAuthenticationMiddleware(_NotOnApi, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_NotOnApi, MessageMiddleware):
    pass
