"""Keeps HTML error pages off `/api/`: Django-level 404/405/413/500 there answer in the error shape."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponseBase, JsonResponse

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
