"""Typed errors of the Perso client, and what they become: our HTTP answers for synchronous calls, the
stage outcome (`JobFailure` for good, `TransientFailure` to run the stage again) inside a stage."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, JobFailure, TransientFailure

logger = logging.getLogger(__name__)

QUEUE_NOT_FOUND_MARKER = "queue not found"


class PersoError(Exception):
    """Perso answered with an error (or could not be reached): HTTP status, Perso code, message."""

    def __init__(self, status: int | None, code: str = "", message: str = "", *, retry_after_sec: float | None = None):
        self.status = status
        self.code = code or ""
        self.message = message or ""
        self.retry_after_sec = retry_after_sec
        super().__init__(f"Perso {status} {code}: {message}".strip())

    @property
    def is_queue_not_found(self) -> bool:
        """The documented "space queue not found" refusal of a submit. The documentation gives its
        message but no status or code, so besides the message any 404 of a submit that is not one of
        the documented not-founds (media, source or target language) counts: initialising the queue
        again is free and idempotent."""
        if QUEUE_NOT_FOUND_MARKER in self.message.lower():
            return True
        return self.status == 404 and self.code not in SUBMIT_NOT_FOUND_CODES


class PersoAuthError(PersoError):
    """401 / F4001: the API key is missing, wrong, expired or revoked (or 403: no permission on the space)."""


class PersoInsufficientCredits(PersoError):
    """402 / VT4021: the space has no credits left for this project."""


class PersoQueueFull(PersoError):
    """503 / VT5034: the space's processing queue is full; submit again later."""


class PersoNotFound(PersoError):
    """404: a wrong space, project or media seq (or a path asked on the wrong host)."""


class PersoRateLimited(PersoError):
    """429 after our bounded retries."""


class PersoTransientError(PersoError):
    """429/5xx/connection failure/timeout that did not pass within our bounded retries."""


class PersoSubmitUncertain(PersoTransientError):
    """A submit whose outcome is unknown (timeout, dropped connection, 502, 504, or a 5xx without a
    Perso code — a gateway's answer): the project may exist, so it is reconciled before any resend."""


class PersoInvalidMedia(PersoError):
    """400 F4004/F4007/F4008/F4009/F40010/F40011 (limits on size, type, duration, resolution)."""


class PersoProtocolError(PersoError):
    """The answer did not have the shape we expect (e.g. an empty project id list)."""


class PersoDownloadError(PersoError):
    """A file link could not be fetched (not allowed, not found, interrupted)."""


# Documented 404 codes of the submit endpoints (Video not found, Source/Target language not found).
SUBMIT_NOT_FOUND_CODES = {"VT4042", "VT4043", "VT4044"}
INVALID_MEDIA_CODES = {"F4004", "F4007", "F4008", "F4009", "F40010", "F40011", "F4005"}


def perso_error_from_response(
    *, status: int, code: str, message: str, retry_after_sec: float | None = None
) -> PersoError:
    """The typed error for one Perso error answer."""
    kind = PersoError
    if status == 401 or code == "F4001":
        kind = PersoAuthError
    elif status == 402 or code == "VT4021":
        kind = PersoInsufficientCredits
    elif code == "VT5034":
        kind = PersoQueueFull
    elif code in INVALID_MEDIA_CODES:
        kind = PersoInvalidMedia
    elif status == 403:
        kind = PersoAuthError
    elif status == 404:
        kind = PersoNotFound
    elif status == 429:
        kind = PersoRateLimited
    elif status >= 500:
        kind = PersoTransientError
    return kind(status, code, message, retry_after_sec=retry_after_sec)


def perso_error_to_api_error(error: PersoError) -> ApiError:
    """How a Perso failure reads to our own API clients on synchronous calls (e.g. /languages);
    the messages are fixed and sanitised (no upstream text, no key)."""
    status = error.status or 0
    if status == 401:
        return ApiError(ErrorCode.PERSO_AUTH_FAILED, "Authentication failed with Perso", status_code=401)
    if status == 402:
        return ApiError(ErrorCode.PERSO_INSUFFICIENT_QUOTA, "Insufficient Perso quota", status_code=402)
    if status == 429:
        return ApiError(
            ErrorCode.PERSO_RATE_LIMITED, "Perso rate limit exceeded, please try again later", status_code=429
        )
    if 400 <= status < 500:
        return ApiError(ErrorCode.PERSO_BAD_REQUEST, "Invalid request to Perso", status_code=400)
    return ApiError(ErrorCode.PERSO_UNAVAILABLE, "Perso service unavailable", status_code=502)


MEDIA_ERROR_TEXT = {
    "F4004": "The file is larger than Perso accepts",
    "F4005": "The Perso plan usage limit is exceeded",
    "F4007": "Perso does not accept this media type",
    "F4008": "The media is longer than Perso accepts",
    "F4009": "The media is too short for Perso (minimum 5 seconds)",
    "F40010": "The video resolution is higher than Perso accepts",
    "F40011": "The video resolution is lower than Perso accepts (minimum 201 pixels)",
}


def perso_stage_failure(error: PersoError) -> JobFailure | TransientFailure:
    """The stage outcome of a Perso error: transient errors retry the stage, others fail the job."""
    if isinstance(error, PersoSubmitUncertain):
        return JobFailure(
            ErrorCode.PERSO_SUBMIT_UNCERTAIN,
            "Perso's answer to the request was lost and no project from it could be confirmed; "
            "it was not sent again to avoid paying twice",
        )
    if isinstance(error, PersoInsufficientCredits):
        return JobFailure(ErrorCode.INSUFFICIENT_CREDITS, "The Perso account has no credits left for this job")
    if isinstance(error, PersoInvalidMedia):
        return JobFailure(ErrorCode.INVALID_MEDIA, MEDIA_ERROR_TEXT.get(error.code, "Perso rejected the media file"))
    if isinstance(error, PersoAuthError):
        return JobFailure(ErrorCode.PERSO_AUTH_FAILED, "Authentication failed with Perso")
    if isinstance(error, PersoRateLimited):
        return TransientFailure(ErrorCode.PERSO_RATE_LIMITED, "Perso rate limit exceeded", retry_after_sec=30)
    if isinstance(error, PersoTransientError):
        return TransientFailure(ErrorCode.PERSO_UNAVAILABLE, "Perso service unavailable")
    if isinstance(error, PersoNotFound):
        return JobFailure(ErrorCode.PERSO_NOT_FOUND, "Perso does not know this project or media")
    if isinstance(error, PersoDownloadError):
        return JobFailure(ErrorCode.PERSO_DOWNLOAD_REFUSED, f"A Perso file could not be fetched ({error.code})")
    return JobFailure(ErrorCode.PERSO_ERROR, f"Perso refused the request ({error.code or error.status})")


@contextmanager
def perso_errors_as_stage_outcome() -> Iterator[None]:
    """Inside a stage: any PersoError leaves as JobFailure/TransientFailure."""
    try:
        yield
    except PersoError as exc:
        logger.warning("Perso call failed: %s", exc)
        raise perso_stage_failure(exc) from exc
