"""Rate limits (DRF throttles, rates in settings). Submits are limited per user; polls and
downloads never are — a 429 on a poll would end the job on the phone."""

from rest_framework.throttling import UserRateThrottle


class SubmitRateThrottle(UserRateThrottle):
    """Counts only the state-changing requests (POST) of an authenticated user."""

    scope = "submit"

    def allow_request(self, request, view):
        if request.method != "POST" or not (request.user and request.user.is_authenticated):
            return True
        return super().allow_request(request, view)
