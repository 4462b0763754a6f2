from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.schema import ErrorSerializer
from apps.perso.languages import perso_languages_list


class LanguageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    nativeName = serializers.CharField(allow_null=True)
    supportsDubbing = serializers.BooleanField()
    supportsSubtitles = serializers.BooleanField()


class LanguagesApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        languages = LanguageSerializer(many=True)

    @extend_schema(
        operation_id="languages_list",
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid request to Perso"),
            401: OpenApiResponse(ErrorSerializer, description="Authentication failed with Perso"),
            402: OpenApiResponse(ErrorSerializer, description="Insufficient Perso quota"),
            429: OpenApiResponse(ErrorSerializer, description="Perso rate limit exceeded"),
            502: OpenApiResponse(ErrorSerializer, description="Perso service unavailable"),
        },
        description="The languages Perso supports (experimental ones included); no sign-in needed. "
        "Also a post-boot check that the Perso key works.",
    )
    def get(self, request):
        return Response(self.OutputSerializer({"languages": perso_languages_list()}).data)
