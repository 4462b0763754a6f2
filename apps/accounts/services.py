"""Sign-in: verify a Google ID token, upsert the user, issue the platform's own HS256 JWT."""

import time
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import jwt
import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.oauth2 import id_token as google_id_token

from apps.accounts.models import User
from apps.core.error_codes import ErrorCode
from apps.core.errors import BadRequest, Unauthorized

_http_session = requests.Session()


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str
    name: str
    picture: str


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at_ms: int


def google_identity_verify(*, id_token: str) -> GoogleIdentity:
    """Checks signature (Google's certs), expiry, audience whitelist, issuer and e-mail verification."""
    if not id_token or not id_token.strip():
        raise BadRequest(ErrorCode.MISSING_ID_TOKEN, "idToken is required")
    try:
        claims = google_id_token.verify_token(
            id_token.strip(),
            GoogleAuthRequest(session=_http_session),
            audience=None,
            certs_url=settings.GOOGLE_CERTS_URL,
            clock_skew_in_seconds=10,
        )
    except ValueError as exc:
        message = str(exc).lower()
        if "expired" in message:
            raise Unauthorized(ErrorCode.GOOGLE_TOKEN_EXPIRED, "The Google ID token has expired") from exc
        raise Unauthorized(ErrorCode.INVALID_ID_TOKEN, "The Google ID token could not be verified") from exc
    except google.auth.exceptions.GoogleAuthError as exc:
        raise Unauthorized(ErrorCode.INVALID_ID_TOKEN, "The Google ID token could not be verified") from exc
    if claims.get("aud") not in settings.GOOGLE_OAUTH_CLIENT_IDS:
        raise Unauthorized(ErrorCode.GOOGLE_AUD_MISMATCH, "The token was issued for another application")
    if claims.get("iss") not in settings.GOOGLE_ISSUERS:
        raise Unauthorized(ErrorCode.INVALID_ID_TOKEN, "The token was not issued by Google")
    if str(claims.get("email_verified", "")).lower() != "true":
        raise Unauthorized(ErrorCode.GOOGLE_EMAIL_UNVERIFIED, "The Google account e-mail is not verified")
    email = claims.get("email") or ""
    sub = str(claims.get("sub") or "")
    if not sub:
        raise Unauthorized(ErrorCode.INVALID_ID_TOKEN, "The token has no subject")
    return GoogleIdentity(
        sub=sub,
        email=email,
        name=claims.get("name") or email.split("@")[0],
        picture=claims.get("picture") or "",
    )


def user_upsert_from_google(*, identity: GoogleIdentity) -> User:
    fields = {"email": identity.email, "display_name": identity.name, "picture": identity.picture}
    try:
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                google_sub=identity.sub, defaults={"username": f"google:{identity.sub}"[:150], **fields}
            )
    except IntegrityError:
        user, created = User.objects.get(google_sub=identity.sub), False
    if not created and any(getattr(user, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(user, name, value)
        user.save(update_fields=list(fields))
    return user


def access_token_issue(*, user: User, now: int | None = None) -> AccessToken:
    issued_at = int(now if now is not None else time.time())
    expires_at = issued_at + settings.AUTH_JWT_EXPIRY_SECONDS
    payload = {
        "sub": user.google_sub or f"user:{user.pk}",
        "iss": settings.AUTH_JWT_ISSUER,
        "aud": settings.AUTH_JWT_AUDIENCE,
        "iat": issued_at,
        "exp": expires_at,
        "email": user.email,
    }
    token = jwt.encode(payload, settings.AUTH_JWT_SECRET, algorithm="HS256")
    return AccessToken(token=token, expires_at_ms=expires_at * 1000)


def _lifetime_bounded(claims: dict) -> bool:
    """A token never lives longer than AUTH_JWT_MAX_LIFETIME_SECONDS, from its issue or from now."""
    maximum = settings.AUTH_JWT_MAX_LIFETIME_SECONDS
    try:
        expires_at, issued_at = int(claims["exp"]), int(claims["iat"])
    except (TypeError, ValueError):
        return False
    return expires_at - issued_at <= maximum and expires_at - time.time() <= maximum


def access_token_user(*, token: str, fresh_user: bool = False) -> User:
    """The token's active user. `fresh_user` reads the user row instead of the process's cache: a
    request that writes (a submit stores a job owned by the user) must not act for a user deleted or
    deactivated within the cache's window."""
    cached = _verified_tokens.get(token)
    if cached is not None and cached[0] > time.time():
        user = _active_user_by_subject(cached[1], fresh=fresh_user)
        if user is None:
            raise Unauthorized(ErrorCode.INVALID_TOKEN, "The access token's user does not exist")
        return user
    try:
        claims = jwt.decode(
            token,
            settings.AUTH_JWT_SECRET,
            algorithms=["HS256"],
            audience=settings.AUTH_JWT_AUDIENCE,
            issuer=settings.AUTH_JWT_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized(ErrorCode.TOKEN_EXPIRED, "The access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(ErrorCode.INVALID_TOKEN, "The access token is not valid") from exc
    if not _lifetime_bounded(claims):
        raise Unauthorized(ErrorCode.INVALID_TOKEN, "The access token's lifetime exceeds the maximum")
    user = _active_user_by_subject(str(claims["sub"]), fresh=fresh_user)
    if user is None:
        raise Unauthorized(ErrorCode.INVALID_TOKEN, "The access token's user does not exist")
    if len(_verified_tokens) > 10_000:
        _verified_tokens.clear()
    _verified_tokens[token] = (int(claims["exp"]), str(claims["sub"]))
    return user


# Tokens whose signature and claims were verified: a phone polls with the same token every few
# seconds, and the HMAC check is the largest cost of a poll after the query. Expiry is re-checked.
_verified_tokens: dict[str, tuple[int, str]] = {}
# Subject → (valid until, monotonic; the user as read from the database).
_user_cache: dict[str, tuple[float, User]] = {}


def user_cache_clear() -> None:
    _user_cache.clear()
    _verified_tokens.clear()


def _active_user_by_subject(sub: str, *, fresh: bool = False) -> User | None:
    """The token's active user, from a per-process cache for AUTH_USER_CACHE_SEC: status polls are the
    hottest path and the user row rarely changes. A user deactivated or deleted meanwhile is refused
    by each web process within AUTH_USER_CACHE_SEC (0: on the next request); `fresh` reads the row
    whatever the cache holds (and renews the cache).

    Every request of the window gets the same instance, read-only by convention: the API only reads it
    (`pk`, `is_authenticated`) or passes it as a job's `owner` (a foreign key, which caches nothing on
    the user), and its fields are all loaded (built from every column's value or default, so no
    deferred field is fetched onto it). tests/accounts/test_bearer_user_cache.py runs the endpoints
    and checks it is unchanged."""
    now = time.monotonic()
    cached = None if fresh else _user_cache.get(sub)
    if cached and cached[0] > now:
        return cached[1]
    lookup = {"pk": sub.removeprefix("user:")} if sub.startswith("user:") else {"google_sub": sub}
    try:
        fields = (
            User.objects.filter(is_active=True, **lookup)
            .values("pk", "username", "google_sub", "email", "display_name", "picture", "is_staff")
            .first()
        )
    except ValueError:
        return None
    if fields is None:
        _user_cache.pop(sub, None)
        return None
    user_fields: dict[str, Any] = dict(fields)
    user_fields["id"] = user_fields.pop("pk")
    user = User(**user_fields)
    user._state.adding = False
    user._state.db = "default"
    if settings.AUTH_USER_CACHE_SEC > 0:
        if len(_user_cache) > 10_000:
            _user_cache.clear()
        _user_cache[sub] = (now + settings.AUTH_USER_CACHE_SEC, user)
    return user


def sign_in_with_google(*, id_token: str) -> tuple[User, AccessToken]:
    identity = google_identity_verify(id_token=id_token)
    user = user_upsert_from_google(identity=identity)
    return user, access_token_issue(user=user)
