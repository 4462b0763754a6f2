"""Rate limits (DRF throttles, rates in settings). Submits are limited per user; polls and
downloads never are — a 429 on a poll would end the job on the phone."""

from typing import TYPE_CHECKING

from rest_framework import throttling
from rest_framework.request import Request

if TYPE_CHECKING:  # DRF's views load this module (a setting names it): importing them here is a cycle
    from rest_framework.views import APIView


class ImplementedMethodsOnly(throttling.BaseThrottle):
    """A request for a method the view does not implement is never counted nor refused here, so it
    gets its 405 (throttles run before the method is dispatched)."""

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if not hasattr(view, (request.method or "").lower()):
            return True
        return super().allow_request(request, view)


class ScopedRateThrottle(ImplementedMethodsOnly, throttling.ScopedRateThrottle):
    pass


class SubmitRateThrottle(ImplementedMethodsOnly, throttling.UserRateThrottle):
    """Counts only the state-changing requests (POST) of an authenticated user."""

    scope = "submit"

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if request.method != "POST" or not (request.user and request.user.is_authenticated):
            return True
        return super().allow_request(request, view)
