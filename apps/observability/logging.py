"""Log formatting: JSON lines in production, readable lines embedded; both carry the request/job/task
fields of the current context and both pass every line through `redact` before it is written.

Settings `LOGGING` points at `ContextFilter`, `JsonFormatter` and `PlainFormatter`; `LOG_FORMAT`
(json | plain) picks the formatter.
"""

import logging
import re
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from apps.observability.context import log_fields

CONTEXT_FIELDS = ("request_id", "job_id", "user_id", "stage", "task", "queue", "attempt")
REDACTED = "[REDACTED]"

# Secrets by shape, wherever they appear (messages, URLs, tracebacks, reprs of headers).
_PATTERNS = [
    # JWTs (our access tokens, Google ID tokens): three base64url parts, the first a JSON header.
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
    # Authorization headers and API-key headers.
    (re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (
        re.compile(
            r"(?i)((?:x-api-key|x-goog-api-key|api[-_]?key|authorization|password|secret)['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"
        ),
        r"\1" + REDACTED,
    ),
    # Signed URLs: our own `?token=`, S3 SigV4/SigV2, Azure SAS (`sig=`), Google `key=`.
    (
        re.compile(
            r"(?i)([?&](?:token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|awsaccesskeyid|key|se|skoid|sktid|skt|ske|sks|skv|code)=)[^&\s'\"#]+"
        ),
        r"\1" + REDACTED,
    ),
]


# Cheap substring checks decide whether the patterns above need to run at all (most lines hold none).
_SECRET_MARKERS = (
    "eyj",
    "bearer",
    "basic",
    "key",
    "authorization",
    "password",
    "secret",
    "token=",
    "sig=",
    "signature=",
    "x-amz-",
    "se=",
    "skoid=",
    "sktid=",
    "skt=",
    "ske=",
    "sks=",
    "skv=",
    "code=",
)


@lru_cache(maxsize=1)
def _configured_secrets() -> tuple[str, ...]:
    """The secret values of this deployment, redacted by value wherever they turn up."""
    names = (
        "SECRET_KEY",
        "AUTH_JWT_SECRET",
        "SIGNING_SECRET",
        "PERSO_API_KEY",
        "GEMINI_API_KEY",
        "METRICS_BEARER_TOKEN",
        "PERSO_SIM_API_KEY",
        "GEMINI_SIMULATOR_API_KEY",
    )
    values = {str(getattr(settings, name, "") or "") for name in names}
    storage_options = settings.STORAGES.get("default", {}).get("OPTIONS", {})
    values.add(str(storage_options.get("secret_key") or ""))
    # Short values would redact ordinary words; real secrets are long.
    return tuple(sorted((value for value in values if len(value) >= 8), key=len, reverse=True))


def redact(text: str) -> str:
    try:
        secrets = _configured_secrets()
    except ImproperlyConfigured:  # settings not configured yet (early start-up lines)
        secrets = ()
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if any(marker in lowered for marker in _SECRET_MARKERS):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Copies the current request/task fields onto the record (empty string when not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = log_fields()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, fields.get(name, ""))
        return True


class JsonFormatter(_BaseJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s " + " ".join(f"%({f})s" for f in CONTEXT_FIELDS), **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PlainFormatter(logging.Formatter):
    """`time level logger message key=value…` with only the context fields that are set."""

    def __init__(self, *args, **kwargs):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if getattr(record, name, ""))
        if extras:
            first, newline, rest = line.partition("\n")
            line = f"{first} [{extras}]{newline}{rest}"
        return redact(line)
