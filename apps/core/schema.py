"""OpenAPI pieces shared by every API module: the error shape and its common responses."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiRequest, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.serializers import Serializer

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": serializers.CharField(help_text="A stable code or message"),
        "detail": serializers.CharField(required=False, help_text="Optional human-readable detail"),
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid credentials"),
    404: OpenApiResponse(ErrorSerializer, description="Not found (or not yours)"),
    429: OpenApiResponse(ErrorSerializer, description="Rate limited; see Retry-After"),
}

TOKEN_ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorSerializer, description="token query parameter missing"),
    403: OpenApiResponse(ErrorSerializer, description="token invalid or expired"),
    404: OpenApiResponse(ErrorSerializer, description="Not found"),
    416: OpenApiResponse(ErrorSerializer, description="Range not satisfiable"),
}

TOKEN_PARAMETER = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description="The signed token of the URL"
)

RANGE_PARAMETER = OpenApiParameter(
    "Range",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="One byte range, e.g. `bytes=0-1023` (players seek with it); answered 206",
)


def file_responses(content_type: str, description: str) -> dict[tuple[int, str], OpenApiResponse]:
    """200 with the whole file and 206 with a byte range of it (stored_file_response)."""
    return {
        (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description),
        (206, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The requested byte range"),
    }


UPLOAD_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    413: OpenApiResponse(ErrorSerializer, description="Upload larger than MAX_UPLOAD_FILE_SIZE_MB"),
    422: OpenApiResponse(ErrorSerializer, description="Idempotency-Key already used for a different request"),
}

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: the same key from the same user within 24 h returns the same job; "
    "the same key with a different request → 422 idempotency_key_reused. Without it, the same "
    "request (same source and spec) while its job is in progress returns that job.",
)


def multipart_request(
    form_serializer: Serializer[Any] | type[Serializer[Any]], *, json_items: tuple[str, ...] = ("spec",)
) -> dict[str, OpenApiRequest]:
    """A multipart body whose JSON form items (`spec`, `config`) are documented as the objects they carry,
    sent as parts of type application/json (clients may also send them as plain text form items)."""
    encoding = {name: {"contentType": "application/json"} for name in json_items}
    return {"multipart/form-data": OpenApiRequest(form_serializer, encoding=encoding)}


class VibiAutoSchema(AutoSchema):
    """Names components after the view that nests the serializer (`SeparationStatusApi.OutputSerializer`
    → `SeparationStatusOutput`), so the styleguide's nested Input/Output serializers never clash."""

    def get_serializer_name(self, serializer: Serializer[Any], direction: Direction) -> str:
        qualname_parts = type(serializer).__qualname__.split(".")
        if len(qualname_parts) > 1 and "<locals>" not in qualname_parts:
            outer = qualname_parts[-2].removesuffix("Api").removesuffix("View")
            return f"{outer}{qualname_parts[-1]}"
        return super().get_serializer_name(serializer, direction)


# Statuses any operation can answer besides its own: the web server's refusals (before Django sees the
# request), the body checks of ApiErrorShapeMiddleware and DRF, and an unavailable database.
_ANY_OPERATION_ERRORS = {
    "400": "Malformed request (also from the web server itself)",
    "414": "Request line too long (web server)",
    "431": "Request header fields too large (web server)",
    "503": "Temporarily unavailable (database down, or too many requests of this kind in progress); see Retry-After",
}
_BODY_ERRORS = {
    "411": "Chunked body without a Content-Length",
    "413": "Request body larger than the server accepts",
    "415": "Unsupported Content-Type for this operation",
}


def error_statuses_hook(result: dict[str, Any], generator: object, request: object, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents, in the error shape, every
    status the server can send it, not only the ones its view raises."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            extra = dict(_ANY_OPERATION_ERRORS)
            if operation.get("requestBody"):
                extra |= _BODY_ERRORS
            for status, description in extra.items():
                responses.setdefault(status, {"description": description, **error})
    return result
