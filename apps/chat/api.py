"""POST /api/v2/chat: the conversation and the project context in, a text or a proposal out."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.chat.serializers import ChatRequestSerializer, ChatResponseSerializer, chat_request_from_request
from apps.chat.services import ChatRetryLater, chat_reply
from apps.core.bulkhead import Bulkhead, BulkheadFull
from apps.core.errors import error_body
from apps.core.json_input import StrictJSONParser
from apps.core.schema import ERROR_RESPONSES, ErrorSerializer
from apps.core.throttling import ScopedRateThrottle
from apps.gemini.client import gemini_deadline

# Chat turns wait on Gemini: a few per web process at most, the other threads stay free.
CHAT_BULKHEAD = Bulkhead(name="chat", limit=lambda: settings.CHAT_MAX_IN_FLIGHT)


class ChatApi(APIView):
    parser_classes = [StrictJSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "chat"

    @extend_schema(
        operation_id="chat",
        request=ChatRequestSerializer,
        responses={
            200: ChatResponseSerializer,
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
        chat_request = chat_request_from_request(request)
        try:
            with (
                CHAT_BULKHEAD.slot(retry_after_sec=settings.CHAT_RETRY_AFTER_SEC),
                gemini_deadline(
                    seconds=settings.CHAT_GEMINI_DEADLINE_SEC, max_attempts=settings.CHAT_GEMINI_MAX_ATTEMPTS
                ),
            ):
                answer = chat_reply(turns=chat_request.turns, context=chat_request.context, locale=chat_request.locale)
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
