from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.accounts.services import sign_in_with_google
from apps.core.schema import ERROR_RESPONSES
from apps.core.throttling import ImplementedMethodsOnly


class SignInThrottle(ImplementedMethodsOnly, AnonRateThrottle):
    scope = "sign_in"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GoogleSignInApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SignInThrottle]

    class InputSerializer(serializers.Serializer):
        idToken = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)

    class UserSerializer(serializers.Serializer):
        sub = serializers.CharField()
        email = serializers.CharField()
        name = serializers.CharField()
        picture = serializers.CharField(allow_null=True)

    class RequestSchemaSerializer(serializers.Serializer):
        """What the schema promises: missing, null or empty idToken is 400 missing_id_token."""

        idToken = serializers.CharField(min_length=1, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        accessToken = serializers.CharField()
        expiresAt = serializers.IntegerField(help_text="Epoch milliseconds")
        user = serializers.DictField()

    @extend_schema(
        operation_id="auth_google",
        request=RequestSchemaSerializer,
        responses={200: OutputSerializer, **ERROR_RESPONSES},
        description="Verifies a Google ID token and issues the platform's HS256 access token.",
    )
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user, access_token = sign_in_with_google(id_token=payload.validated_data.get("idToken") or "")
        return Response(
            {
                "accessToken": access_token.token,
                "expiresAt": access_token.expires_at_ms,
                "user": {
                    "sub": user.google_sub,
                    "email": user.email,
                    "name": user.display_name or user.email.split("@")[0],
                    "picture": user.picture or None,
                },
            }
        )
