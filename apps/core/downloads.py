"""Serving stored files: local files stream with HTTP Range support, object storage answers 302."""

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import IO, Any, cast

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.http import http_date, parse_http_date_safe
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, NotFound, error_body

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 256 * 1024


def _iter_range(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for a single satisfiable range, None when absent or unparseable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise ValueError("unsatisfiable")
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("unsatisfiable")
    return start, end


def _if_range_matches(if_range: str | None, *, etag: str, last_modified: str) -> bool:
    """Whether a Range may be honoured: no If-Range, or one naming the current representation —
    a strong ETag compared strongly (a weak one never matches), or exactly its Last-Modified date."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    parsed = parse_http_date_safe(value)
    return parsed is not None and parsed == parse_http_date_safe(last_modified)


def stored_file_response(
    request: HttpRequest, *, storage_key: str, content_type: str, filename: str | None = None
) -> HttpResponseBase:
    if not storage_key or not default_storage.exists(storage_key):
        raise NotFound(detail="file not found")
    if settings.STORAGE_BACKEND != "local":
        # The redirect target is another host with a query-string signature; the phone's
        # Authorization header is not forwarded across hosts.
        return HttpResponseRedirect(default_storage.url(storage_key))
    size = default_storage.size(storage_key)
    modified = default_storage.get_modified_time(storage_key)
    etag = '"' + hashlib.sha256(f"{storage_key}:{size}:{modified.timestamp()}".encode()).hexdigest()[:32] + '"'
    last_modified = http_date(modified.timestamp())
    range_header = request.headers.get("Range", "")
    if range_header and not _if_range_matches(request.headers.get("If-Range"), etag=etag, last_modified=last_modified):
        range_header = ""  # RFC 9110 13.1.5: a validator that does not match → the whole file, 200
    try:
        byte_range = _parse_range(range_header, size) if range_header else None
    except ValueError:
        refusal = JsonResponse(error_body(ErrorCode.RANGE_NOT_SATISFIABLE, f"The file has {size} bytes"), status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        return refusal
    handle = default_storage.open(storage_key, "rb")
    response: HttpResponseBase
    if byte_range is None:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _iter_range(handle, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class SignedDownloadApi(APIView):
    """A download a media player opens from a signed URL: no Bearer needed (players send no
    headers); the view checks the token and, when a Bearer is present anyway, the owner."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    def owner_check(self, request: Request, *, owner_id: int) -> None:
        """A signed URL opened under another user's Bearer is not found for them (a leaked URL is not a
        way into someone else's jobs); without a valid Bearer the token alone decides."""
        user = _bearer_user_or_none(request)
        if user is not None and user.pk != owner_id:
            raise NotFound(ErrorCode.NOT_FOUND)


def _bearer_user_or_none(request: Request) -> Any:
    """The user a valid Bearer names, by the authenticators every other view runs
    (REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES), else None."""
    # api_settings has imported the dotted paths by now; the stubs type the raw setting (strings).
    authentication_classes = cast(Sequence[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    for authentication_class in authentication_classes:
        try:
            authenticated = authentication_class().authenticate(request)
        except (ApiError, APIException):
            return None
        if authenticated:
            return authenticated[0]
    return None
