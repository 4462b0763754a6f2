"""Signed download tokens: `"<expiresAtEpochSec>.<base64url HMAC-SHA256(jobId:resourceId:exp)>"`."""

import base64
import hashlib
import hmac
import time
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings

from apps.core.error_codes import ErrorCode
from apps.core.errors import Forbidden, Unauthorized

MIN_SECRET_LENGTH = 32


class TokenMissing(Unauthorized, code=ErrorCode.TOKEN_REQUIRED): ...


class TokenInvalid(Forbidden, code=ErrorCode.INVALID_TOKEN): ...


@lru_cache(maxsize=4)
def _keyed_hmac(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 with the key already absorbed, built once per secret: each signature copies it
    (status answers sign a URL per file on every poll)."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"SEPARATION_SIGNING_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def _signature(job_id: str, resource_id: str, expires_at: int) -> str:
    mac = _keyed_hmac(settings.SIGNING_SECRET).copy()
    mac.update(f"{job_id}:{resource_id}:{expires_at}".encode())
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def sign_token(*, job_id: str, resource_id: str, expires_at: int) -> str:
    return f"{expires_at}.{_signature(job_id, resource_id, expires_at)}"


def token_expiry(*, ttl_sec: int, not_after: int | None = None, now: int | None = None) -> int:
    """Expiry for a new token: now + ttl, never past `not_after` (the artifact's own end of life)."""
    expires_at = int(now if now is not None else time.time()) + ttl_sec
    return min(expires_at, not_after) if not_after else expires_at


def verify_token(*, token: str | None, job_id: str, resource_id: str, now: int | None = None) -> None:
    """Raises TokenMissing (401) without a token and TokenInvalid (403) for a bad or expired one."""
    if not token:
        raise TokenMissing(detail="token required")
    expires_part, _, signature = token.partition(".")
    if not expires_part or not signature or not expires_part.isdigit() or len(expires_part) > 12:
        raise TokenInvalid()
    expires_at = int(expires_part)
    if int(now if now is not None else time.time()) > expires_at:
        raise TokenInvalid(detail="token expired")
    expected = _signature(job_id, resource_id, expires_at)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise TokenInvalid()


def signed_path(path: str, *, job_id: str, resource_id: str, expires_at: int, **query: str) -> str:
    """A path-only URL with the token in its query (native players send no headers)."""
    params = {**query, "token": sign_token(job_id=job_id, resource_id=resource_id, expires_at=expires_at)}
    return f"{path}?{urlencode(params)}"
