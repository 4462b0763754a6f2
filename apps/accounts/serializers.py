"""The sign-in request, validated and described by one serializer."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.core.error_codes import ErrorCode
from apps.core.serializers import ContractField, RequestSerializer


class IdTokenField(ContractField, serializers.CharField):
    def __init__(self):
        super().__init__(min_length=1, trim_whitespace=False)

    def parse(self, value):
        if value is None or value == "":
            self.refuse(ErrorCode.MISSING_ID_TOKEN, "idToken is required")
        return serializers.CharField.run_validation(self, value)


@extend_schema_serializer(component_name="GoogleSignInRequestSchema")
class GoogleSignInRequestSerializer(RequestSerializer):
    """Missing, null or empty idToken is 400 missing_id_token."""

    idToken = IdTokenField()


def id_token_from_request(request) -> str:
    return GoogleSignInRequestSerializer.validated(request.data)["idToken"]
