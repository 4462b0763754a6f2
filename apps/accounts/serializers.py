"""The sign-in request, validated and described by one serializer."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.core.error_codes import ErrorCode
from apps.core.serializers import RequestSerializer, coded


@extend_schema_serializer(component_name="GoogleSignInRequestSchema")
class GoogleSignInRequestSerializer(RequestSerializer):
    """Missing, null or empty idToken is 400 missing_id_token."""

    idToken = coded(
        serializers.CharField(min_length=1, trim_whitespace=False),
        ErrorCode.MISSING_ID_TOKEN,
        "required",
        "null",
        "blank",
        "min_length",
        detail="idToken is required",
    )


def id_token_from_request(request) -> str:
    return GoogleSignInRequestSerializer.validated(request.data)["idToken"]
