from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.accounts.serializers import GoogleSignInRequestSerializer, id_token_from_request
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

    class UserSerializer(serializers.Serializer):
        sub = serializers.CharField()
        email = serializers.CharField()
        name = serializers.CharField()
        picture = serializers.CharField(allow_null=True)

    class OutputSerializer(serializers.Serializer):
        accessToken = serializers.CharField()
        expiresAt = serializers.IntegerField(help_text="Epoch milliseconds")
        user = serializers.DictField()

    @extend_schema(
        operation_id="auth_google",
        request=GoogleSignInRequestSerializer,
        responses={200: OutputSerializer, **ERROR_RESPONSES},
        description="Verifies a Google ID token and issues the platform's HS256 access token.",
    )
    def post(self, request):
        user, access_token = sign_in_with_google(id_token=id_token_from_request(request))
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
