"""The admin sign-in throttled per account and per address: after ADMIN_LOGIN_MAX_FAILURES failed
attempts within ADMIN_LOGIN_WINDOW_SEC, either key is refused with 429 before a password is checked
(each check costs a password hash on the shared web threads). Counters live in the shared cache."""

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

ADMIN_LOGIN_PATH = "/admin/login/"


def _keys(*, username: str, address: str) -> list[str]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"admin-login-fail:user:{account}", f"admin-login-fail:addr:{address}"]


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def admin_login_blocked(*, username: str, address: str) -> bool:
    return any(
        (cache.get(key) or 0) >= settings.ADMIN_LOGIN_MAX_FAILURES for key in _keys(username=username, address=address)
    )


def admin_login_failure_record(*, username: str, address: str) -> None:
    for key in _keys(username=username, address=address):
        cache.add(key, 0, timeout=settings.ADMIN_LOGIN_WINDOW_SEC)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.ADMIN_LOGIN_WINDOW_SEC)


@receiver(user_login_failed)
def _on_login_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is not None and request.path == ADMIN_LOGIN_PATH:
        admin_login_failure_record(username=str(credentials.get("username", "")), address=_address(request))


class AdminLoginThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == ADMIN_LOGIN_PATH:
            username = request.POST.get("username", "")
            if admin_login_blocked(username=username, address=_address(request)):
                response = HttpResponse(
                    "Too many failed sign-in attempts; try again later.", status=429, content_type="text/plain"
                )
                response["Retry-After"] = str(settings.ADMIN_LOGIN_WINDOW_SEC)
                return response
        return self.get_response(request)
