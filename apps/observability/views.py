"""GET /metrics: Prometheus exposition of this host's processes plus the platform state, behind a bearer token."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from apps.core.error_codes import ErrorCode
from apps.core.errors import error_body
from apps.observability.collectors import PlatformStateCollector


def _authorized(request) -> bool:
    expected = settings.METRICS_BEARER_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


@require_GET
def metrics(request):
    if not _authorized(request):
        response = JsonResponse(
            error_body(ErrorCode.UNAUTHORIZED, "Send Authorization: Bearer <METRICS_BEARER_TOKEN>"), status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(PlatformStateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
