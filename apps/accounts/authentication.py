"""DRF authentication for `Authorization: Bearer <jwt>` issued by sign-in."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.accounts.services import access_token_user
from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, NotFound
from apps.observability.context import log_context_bind


class BearerJWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            return None
        user = access_token_user(token=parts[1].decode("latin-1"))
        log_context_bind(user_id=user.pk)
        return user, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def bearer_user_or_none(request):
    """The user of a valid Bearer, else None: signed downloads need no Bearer (players send no headers)."""
    try:
        authenticated = BearerJWTAuthentication().authenticate(request)
    except ApiError:
        return None
    return authenticated[0] if authenticated else None


def download_owner_check(request, *, owner_id: int) -> None:
    """A signed URL opened under another user's Bearer is not found for them (a leaked URL is not a
    way into someone else's jobs); without a Bearer the token alone decides."""
    user = bearer_user_or_none(request)
    if user is not None and user.pk != owner_id:
        raise NotFound(ErrorCode.NOT_FOUND)


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BearerJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
