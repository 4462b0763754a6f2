"""POST /api/v2/chat: the conversation and the project context in, a text or a proposal out."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.chat.context import ProjectContext
from apps.chat.prompt import ChatTurn
from apps.chat.services import ChatRetryLater, chat_reply
from apps.core.bulkhead import Bulkhead, BulkheadFull
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, error_body
from apps.core.json_input import StrictJSONParser
from apps.core.schema import ERROR_RESPONSES, ErrorSerializer
from apps.core.throttling import ScopedRateThrottle
from apps.gemini.client import gemini_deadline

MAX_MESSAGE_CHARS = 50_000
# Chat turns wait on Gemini: a few per web process at most, the other threads stay free.
CHAT_BULKHEAD = Bulkhead(name="chat", limit=lambda: settings.CHAT_MAX_IN_FLIGHT)


def _ms(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, **kwargs)


def _scale() -> serializers.FloatField:
    return serializers.FloatField(required=False, allow_null=True)


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False, **kwargs)


class SegmentSerializer(serializers.Serializer):
    id = serializers.CharField()
    startMs = _ms()
    endMs = _ms()
    sourceUri = _text()
    speedScale = _scale()
    volumeScale = _scale()


class SubtitleClipSerializer(serializers.Serializer):
    id = serializers.CharField()
    index = _ms()
    startMs = _ms()
    endMs = _ms()
    text = _text()
    languageCode = _text()


class DubClipSerializer(serializers.Serializer):
    id = serializers.CharField()
    startMs = _ms()
    endMs = _ms()
    voiceId = _text()


class BgmClipSerializer(serializers.Serializer):
    id = serializers.CharField()
    startMs = _ms()
    endMs = _ms()
    volumeScale = _scale()
    speedScale = _scale()


class StemSerializer(serializers.Serializer):
    stemId = serializers.CharField()
    label = _text()
    volume = _scale()
    selected = serializers.BooleanField(required=False, allow_null=True)


class DirectiveSerializer(serializers.Serializer):
    id = serializers.CharField()
    rangeStartMs = serializers.IntegerField()
    rangeEndMs = serializers.IntegerField()
    durationMs = _ms()
    numberOfSpeakers = _ms()


class ProcessingSeparationSerializer(serializers.Serializer):
    rangeStartMs = serializers.IntegerField()
    rangeEndMs = serializers.IntegerField()


def _items(serializer_class) -> serializers.ListSerializer:
    return serializer_class(many=True, required=False, allow_null=True)


class ProjectContextSerializer(serializers.Serializer):
    segments = _items(SegmentSerializer)
    subtitleClips = _items(SubtitleClipSerializer)
    dubClips = _items(DubClipSerializer)
    bgmClips = _items(BgmClipSerializer)
    separationStems = _items(StemSerializer)
    separationDirectives = _items(DirectiveSerializer)
    processingSeparations = _items(ProcessingSeparationSerializer)
    currentPlayheadMs = _ms()
    selectedSegmentId = _text()
    selectedClipId = _text()
    isRangeSelecting = serializers.BooleanField(required=False, allow_null=True)
    pendingRangeStartMs = _ms()
    pendingRangeEndMs = _ms()
    videoDurationMs = _ms(min_value=0)


class ChatMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "model"])
    content = _text(max_length=MAX_MESSAGE_CHARS)


class ChatSerializer(serializers.Serializer):
    messages = ChatMessageSerializer(many=True, required=False, allow_null=True)
    projectContext = ProjectContextSerializer(required=False, allow_null=True)
    locale = _text(max_length=35)


class ChatRequestSchemaSerializer(ChatSerializer):
    """What the schema promises: no messages (absent, null or empty) is 400."""

    messages = serializers.ListField(child=ChatMessageSerializer(), min_length=1)


class ChatApi(APIView):
    parser_classes = [StrictJSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "chat"
    InputSerializer = ChatSerializer

    @extend_schema(
        operation_id="chat",
        request=ChatRequestSchemaSerializer,
        responses={
            200: inline_serializer(
                name="ChatResponse",
                fields={
                    "kind": serializers.ChoiceField(choices=["text", "proposal"]),
                    "text": serializers.CharField(required=False, help_text="Only when kind is text"),
                    "proposal": inline_serializer(
                        name="ChatProposal",
                        required=False,
                        help_text="Only when kind is proposal",
                        fields={
                            "rationale": serializers.CharField(),
                            "steps": inline_serializer(
                                name="ChatStep",
                                many=True,
                                help_text="At most 5, applied in order",
                                fields={
                                    "name": serializers.CharField(),
                                    "args": serializers.DictField(help_text="Absent optional arguments left out"),
                                },
                            ),
                        },
                    ),
                },
            ),
            **ERROR_RESPONSES,
            502: OpenApiResponse(ErrorSerializer, description="The assistant model failed; try again"),
            503: OpenApiResponse(
                ErrorSerializer,
                description="The assistant model is unavailable, did not answer within the deadline, or too many chat turns are in progress; see Retry-After",
            ),
        },
        description="One chat turn: Gemini function calling over the editor's project context. "
        "Answers a text or a proposal of at most 5 validated steps.",
    )
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        messages = payload.validated_data.get("messages") or []
        if not messages:
            raise BadRequest(ErrorCode.MESSAGES_REQUIRED)
        turns = [ChatTurn(role=message["role"], text=message.get("content") or "") for message in messages]
        context = ProjectContext(payload=dict(payload.validated_data.get("projectContext") or {}))
        try:
            with (
                CHAT_BULKHEAD.slot(retry_after_sec=settings.CHAT_RETRY_AFTER_SEC),
                gemini_deadline(
                    seconds=settings.CHAT_GEMINI_DEADLINE_SEC, max_attempts=settings.CHAT_GEMINI_MAX_ATTEMPTS
                ),
            ):
                answer = chat_reply(turns=turns, context=context, locale=payload.validated_data.get("locale") or "ko")
        except BulkheadFull as error:
            return Response(
                error_body(error.code, error.detail),
                status=error.status_code,
                headers={"Retry-After": str(error.retry_after_sec)},
            )
        except ChatRetryLater as error:
            return Response(
                error_body(error.code, error.detail),
                status=error.status_code,
                headers={"Retry-After": str(settings.CHAT_RETRY_AFTER_SEC)},
            )
        return Response(answer.as_response())
