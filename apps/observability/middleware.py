"""Request id: taken from a sane `X-Request-ID` or generated, bound to every log line of the request,
echoed in the response."""

import logging
import time

from apps.observability.context import (
    log_context_bind,
    log_context_end,
    log_context_start,
    request_id_from_header,
)

logger = logging.getLogger("vibi.request")

REQUEST_ID_HEADER = "X-Request-ID"
# Read from META: `request.headers` would build a dict of every header on every request for this one.
REQUEST_ID_META_KEY = "HTTP_X_REQUEST_ID"


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from_header(request.META.get(REQUEST_ID_META_KEY))
        request.request_id = request_id
        token = log_context_start(request_id=request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                log_context_bind(user_id=user.pk)
            if not request.path.startswith(("/sim/", "/static/")):
                # The full path: signed-URL tokens in the query are redacted by the log formatter.
                logger.info(
                    "%s %s %s %.0fms",
                    request.method,
                    request.get_full_path(),
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                )
            return response
        finally:
            log_context_end(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Job URLs (`…/<job_id>…`) name their job on every line of the request."""
        job_id = view_kwargs.get("mix_job_id") or view_kwargs.get("job_id")
        if job_id:
            log_context_bind(job_id=str(job_id)[:100])
