"""DRF authentication for `Authorization: Bearer <jwt>` issued by sign-in."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from apps.accounts.services import access_token_user
from apps.observability.context import log_context_bind


class BearerJWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            return None
        # A read may use the process's cached user; a write reads the row (a deleted user owns no job).
        user = access_token_user(token=parts[1].decode("latin-1"), fresh_user=request.method not in SAFE_METHODS)
        log_context_bind(user_id=user.pk)
        return user, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BearerJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
