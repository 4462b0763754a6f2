"""The chat request: the conversation and the editor's project context, validated and described by
one serializer (unknown keys ignored, explicit nulls accepted), what the service takes built from it, and the
answer as the schema shows it."""

from dataclasses import dataclass

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.chat.context import ProjectContext
from apps.chat.prompt import ChatTurn
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest
from apps.core.serializers import ContractField, RequestSerializer

MAX_MESSAGE_CHARS = 50_000


def _ms(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, allow_null=True, **kwargs)


def _scale() -> serializers.FloatField:
    return serializers.FloatField(required=False, allow_null=True)


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False, **kwargs)


class _TimelineItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    startMs = _ms()
    endMs = _ms()


class SegmentSerializer(_TimelineItemSerializer):
    sourceUri = _text()
    speedScale = _scale()
    volumeScale = _scale()


class SubtitleClipSerializer(_TimelineItemSerializer):
    index = _ms()
    text = _text()
    languageCode = _text()


class DubClipSerializer(_TimelineItemSerializer):
    voiceId = _text()


class BgmClipSerializer(_TimelineItemSerializer):
    volumeScale = _scale()
    speedScale = _scale()


class StemSerializer(serializers.Serializer):
    stemId = serializers.CharField()
    label = _text()  # type: ignore[assignment]  # the phone's key; shadows Field.label
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


class ChatMessagesField(ContractField, serializers.ListField):
    """At least one message; absent, null or empty is left to ChatRequestSerializer.validate, so that any
    other refusal in the body answers first."""

    def __init__(self):
        super().__init__(child=ChatMessageSerializer(), min_length=1)

    def parse(self, value):
        if value is None or value == []:
            return []
        return serializers.ListField.run_validation(self, value)


@extend_schema_serializer(component_name="ChatRequestSchema")
class ChatRequestSerializer(RequestSerializer):
    """No messages (absent, null or empty) is 400 `messages required`."""

    messages = ChatMessagesField()
    projectContext = ProjectContextSerializer(required=False, allow_null=True)
    locale = _text(max_length=35)

    def validate(self, attrs):
        if not attrs["messages"]:
            raise BadRequest(ErrorCode.MESSAGES_REQUIRED)
        return attrs


class ChatStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    args = serializers.DictField(help_text="Absent optional arguments left out")


class ChatProposalSerializer(serializers.Serializer):
    rationale = serializers.CharField()
    steps = ChatStepSerializer(many=True, help_text="At most 5, applied in order")


class ChatResponseSerializer(serializers.Serializer):
    # The 200 answer, for the schema (a comment: a docstring would become its description).

    kind = serializers.ChoiceField(choices=["text", "proposal"])
    text = serializers.CharField(required=False, help_text="Only when kind is text")
    proposal = ChatProposalSerializer(required=False, help_text="Only when kind is proposal")


@dataclass(frozen=True)
class ChatRequest:
    turns: list[ChatTurn]
    context: ProjectContext
    locale: str


def chat_request_from_request(request) -> ChatRequest:
    body = ChatRequestSerializer.validated(request.data)
    return ChatRequest(
        turns=[ChatTurn(role=message["role"], text=message.get("content") or "") for message in body["messages"]],
        context=ProjectContext(payload=dict(body.get("projectContext") or {})),
        locale=body.get("locale") or "ko",
    )
