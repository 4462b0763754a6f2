"""Gemini simulator: the REST `generateContent` protocol google-genai speaks, served in-process.

Structured translation requests get deterministic "translations" (`[<lang>] <text>` per cue id);
requests with `tools` are answered by `chat_behaviour.answer` (the chat assistant's simulator).
Tests inject failures through `POST _control {"fail_next": [429, 500, "malformed", "missing_id"]}`.
"""

import json
import threading
from collections import deque

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

FAILURE_KINDS = {429, 500, 503, "malformed", "missing_id", "extra_id"}
REQUEST_LOG_LIMIT = 200

_lock = threading.Lock()
_fail_next: deque = deque()
_request_log: deque = deque(maxlen=REQUEST_LOG_LIMIT)


def simulator_reset() -> None:
    with _lock:
        _fail_next.clear()
        _request_log.clear()


def _take_failure():
    with _lock:
        return _fail_next.popleft() if _fail_next else None


# Like Gemini's quota errors: a google.rpc.RetryInfo saying when to try again (short, for tests).
RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.2s"}


def _google_error(status: int, status_name: str, message: str, *, details: list | None = None) -> JsonResponse:
    error = {"code": status, "message": message, "status": status_name}
    if details:
        error["details"] = details
    return JsonResponse({"error": error}, status=status)


def _authorized(request) -> bool:
    api_key = request.headers.get("x-goog-api-key") or request.GET.get("key")
    if api_key:
        return api_key == settings.GEMINI_SIMULATOR_API_KEY
    # Vertex AI sends an OAuth access token the simulator cannot verify; any bearer passes.
    return request.headers.get("Authorization", "").startswith("Bearer ")


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _response_body(*, text: str, prompt_text: str, model: str) -> dict:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": _tokens(prompt_text),
            "candidatesTokenCount": _tokens(text),
            "totalTokenCount": _tokens(prompt_text) + _tokens(text),
        },
        "modelVersion": model,
    }


def _last_user_text(body: dict) -> str:
    for content in reversed(body.get("contents") or []):
        texts = [part.get("text", "") for part in content.get("parts") or [] if isinstance(part, dict)]
        if any(texts):
            return "".join(texts)
    return ""


def _is_translation_request(body: dict) -> bool:
    schema = (body.get("generationConfig") or {}).get("responseSchema") or {}
    return "translations" in (schema.get("properties") or {})


def _translation_answer(payload: dict, failure) -> dict:
    language = str(payload.get("targetLanguage", "xx"))
    translations = [
        {"id": str(cue.get("id")), "text": f"[{language}] {cue.get('text', '')}"} for cue in payload.get("cues") or []
    ]
    if failure == "missing_id" and translations:
        translations.pop()
    if failure == "extra_id":
        translations.append({"id": "9999999", "text": f"[{language}] invented"})
    return {"translations": translations}


@csrf_exempt
@require_POST
def generate_content(request, model: str, prefix: str = ""):
    if not _authorized(request):
        return _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    prompt_text = _last_user_text(body)
    failure = _take_failure()
    translation = _is_translation_request(body)
    entry = {"model": model, "kind": "translation" if translation else "tools" if body.get("tools") else "text"}
    if translation:
        try:
            payload = json.loads(prompt_text)
        except ValueError:
            payload = {}
        entry.update(targetLanguage=payload.get("targetLanguage"), cueCount=len(payload.get("cues") or []))
    with _lock:
        _request_log.append({**entry, "failure": failure})

    if failure == 429:
        return _google_error(
            429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", details=[RETRY_INFO]
        )
    if failure in (500, 503):
        return _google_error(
            failure, "INTERNAL" if failure == 500 else "UNAVAILABLE", "An internal error has occurred."
        )
    if failure == "malformed":
        return JsonResponse(
            _response_body(text="Sure! Here is the translation: ...", prompt_text=prompt_text, model=model)
        )

    if translation:
        answer = json.dumps(_translation_answer(payload, failure), ensure_ascii=False)
        return JsonResponse(_response_body(text=answer, prompt_text=prompt_text, model=model))
    if body.get("tools"):
        try:
            from apps.simulators.gemini import chat_behaviour
        except ImportError:
            chat_behaviour = None
        if chat_behaviour is not None:
            return JsonResponse(chat_behaviour.answer(body))
    return JsonResponse(
        _response_body(text=f"Simulated answer to: {prompt_text[:200]}", prompt_text=prompt_text, model=model)
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def control(request):
    """GET: the recent requests. POST {"reset": true, "fail_next": [429, 500, "malformed", ...]}."""
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "bad_request", "detail": "invalid JSON"}, status=400)
        failures = body.get("fail_next") or []
        unknown = [failure for failure in failures if failure not in FAILURE_KINDS]
        if unknown:
            return JsonResponse({"error": "bad_request", "detail": f"unknown failures {unknown}"}, status=400)
        if body.get("reset"):
            simulator_reset()
        with _lock:
            _fail_next.extend(failures)
    with _lock:
        return JsonResponse({"failNext": list(_fail_next), "requests": list(_request_log)})


@csrf_exempt
@require_POST
def control_reset(request):
    simulator_reset()
    return JsonResponse({"failNext": [], "requests": []})
