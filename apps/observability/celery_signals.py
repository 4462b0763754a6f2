"""Celery side of the log context: the request id travels in every task message's headers, and each
task runs with request id, task name, queue and attempt bound to its log lines."""

from contextvars import Token

from celery import signals

from apps.observability.context import current_request_id, log_context_end, log_context_start

REQUEST_ID_HEADER = "request_id"

_tokens: dict[str, Token[dict[str, object]]] = {}


@signals.before_task_publish.connect
def _add_request_id_header(headers=None, **_kwargs) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


@signals.task_prerun.connect
def _bind_task_fields(task_id=None, task=None, **_kwargs) -> None:
    request = task.request
    delivery = getattr(request, "delivery_info", None) or {}
    _tokens[task_id] = log_context_start(
        request_id=getattr(request, REQUEST_ID_HEADER, None) or (request.headers or {}).get(REQUEST_ID_HEADER),
        task=task.name,
        queue=delivery.get("routing_key") or delivery.get("exchange") or "",
        attempt=(request.retries or 0) + 1,
    )


@signals.task_postrun.connect
def _unbind_task_fields(task_id=None, **_kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        log_context_end(token)
