"""OpenAPI pieces shared by every API module: the error shape and its common responses."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

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
}

UPLOAD_ERROR_RESPONSES = {
    **ERROR_RESPONSES,
    413: OpenApiResponse(ErrorSerializer, description="Upload larger than MAX_UPLOAD_FILE_SIZE_MB"),
}


class VibiAutoSchema(AutoSchema):
    """Names components after the view that nests the serializer (`SeparationStatusApi.OutputSerializer`
    → `SeparationStatusOutput`), so the styleguide's nested Input/Output serializers never clash."""

    def get_serializer_name(self, serializer, direction):
        qualname_parts = type(serializer).__qualname__.split(".")
        if len(qualname_parts) > 1 and "<locals>" not in qualname_parts:
            outer = qualname_parts[-2].removesuffix("Api").removesuffix("View")
            return f"{outer}{qualname_parts[-1]}"
        return super().get_serializer_name(serializer, direction)
