"""Perso's languages for GET /api/v2/languages (cached), and the submit-time check that the languages
a request names are ones Perso supports."""

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache

from apps.core.error_codes import ErrorCode
from apps.core.errors import ApiError, BadRequest
from apps.perso.client import PersoClient
from apps.perso.errors import PersoError, perso_error_to_api_error

logger = logging.getLogger(__name__)

LANGUAGES_CACHE_KEY = "perso:languages:v1"
# Set when the submit check could not have the list: submits within LANGUAGES_UNAVAILABLE_SEC skip it
# at once instead of each waiting for a Perso that does not answer.
LANGUAGES_UNAVAILABLE_KEY = "perso:languages:unavailable"
LANGUAGES_UNAVAILABLE_SEC = 30


def perso_languages_list(*, attempts: int = 2) -> list[dict]:
    """Perso's languages (experimental ones included) in our API's shape, cached LANGUAGES_CACHE_SEC.
    A Perso failure raises the contract's ApiError (401/402/429/400/502). Each attempt waits at most
    PERSO_WEB_TIMEOUT_SEC: a phone's request is waiting."""
    cached = cache.get(LANGUAGES_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        languages = PersoClient(max_attempts=attempts, control_timeout_sec=settings.PERSO_WEB_TIMEOUT_SEC).languages()
    except PersoError as exc:
        logger.warning("Perso languages failed: %s", exc)
        raise perso_error_to_api_error(exc) from exc
    rows = [
        {
            "code": language.code,
            "name": language.name,
            "nativeName": language.native_name,
            "supportsDubbing": language.supports_dubbing,
            "supportsSubtitles": language.supports_subtitles,
        }
        for language in languages
    ]
    if settings.LANGUAGES_CACHE_SEC > 0:
        cache.set(LANGUAGES_CACHE_KEY, rows, settings.LANGUAGES_CACHE_SEC)
    return rows


def _language_base(code: str) -> str:
    return code.lower().replace("_", "-").split("-")[0]


def perso_languages_check(*, source: str | None = None, targets: Sequence[str] = ()) -> None:
    """Submit-time check, before anything is stored or uploaded: the source (unless "auto") and every
    target must be in Perso's cached /languages list (a regional code matches its base language).
    An unsupported one is a 400 `unsupported_language` whose detail lists the supported codes. When
    the list cannot be had (Perso unreachable), the check is skipped: Perso's own VT4043/VT4044
    answer then fails the job. After such a miss the check is skipped at once for
    LANGUAGES_UNAVAILABLE_SEC, so a burst of submits during an outage does not wait on Perso each."""
    if cache.get(LANGUAGES_UNAVAILABLE_KEY) is not None:
        return
    try:
        supported = [row["code"] for row in perso_languages_list(attempts=1)]
    except ApiError as exc:
        logger.warning("language check skipped: Perso's language list is unavailable (%s)", exc.code)
        cache.set(LANGUAGES_UNAVAILABLE_KEY, exc.code, LANGUAGES_UNAVAILABLE_SEC)
        return
    exact = {code.lower().replace("_", "-") for code in supported}
    bases = {_language_base(code) for code in supported}
    requested = [("sourceLanguageCode", source)] if source and source.lower() != "auto" else []
    requested += [("targetLanguageCodes", code) for code in targets]
    for field_name, code in requested:
        if code.lower().replace("_", "-") not in exact and _language_base(code) not in bases:
            raise BadRequest(
                ErrorCode.UNSUPPORTED_LANGUAGE,
                f"{field_name} {code!r} is not a language Perso supports; supported: {', '.join(supported)}",
            )
