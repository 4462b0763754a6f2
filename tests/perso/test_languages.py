"""GET /api/v2/languages: the contract's shape, no sign-in, caching, and Perso error mapping."""

import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.jobs.models import ExternalCall
from apps.perso.languages import perso_languages_check
from tests.support.network import SilentUpstream

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_languages_lists_perso_languages_without_sign_in(perso_sim):
    response = APIClient().get("/api/v2/languages")

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["languages"]}
    assert rows["ko"] == {
        "code": "ko",
        "name": "Korean",
        "nativeName": None,
        "supportsDubbing": True,
        "supportsSubtitles": True,
    }
    assert "vi" in rows  # experimental languages are included


def test_languages_are_cached(perso_sim, settings):
    settings.LANGUAGES_CACHE_SEC = 60
    APIClient().get("/api/v2/languages")
    APIClient().get("/api/v2/languages")
    assert ExternalCall.objects.filter(service="perso", endpoint__endswith="/languages").count() == 1


@pytest.mark.parametrize(
    ("injected", "status", "code"),
    [
        ({"status": 402, "code": "VT4021"}, 402, "perso_insufficient_quota"),
        ({"status": 429, "code": "TOO_MANY_REQUESTS"}, 429, "perso_rate_limited"),
        ({"status": 404, "code": "VT4041"}, 400, "perso_bad_request"),
        ({"status": 500, "code": "F5001"}, 502, "perso_unavailable"),
    ],
)
def test_perso_errors_map_to_the_contract(perso_sim, injected, status, code):
    perso_sim.control(fail_next=[{"match": "/languages", "times": 5, **injected}], retry_after_sec=0)

    response = APIClient().get("/api/v2/languages")

    assert response.status_code == status
    assert response.json()["error"] == code


def test_wrong_perso_key_is_401(perso_sim, settings):
    settings.PERSO_API_KEY = "not-the-key"
    response = APIClient().get("/api/v2/languages")
    assert response.status_code == 401
    assert response.json() == {"error": "perso_auth_failed", "detail": "Authentication failed with Perso"}


@pytest.mark.parametrize(
    ("path", "spec", "field"),
    [
        ("/api/v2/subtitles", {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCodes": ["xx"]}, "xx"),
        ("/api/v2/subtitles", {"mediaType": "AUDIO", "sourceLanguageCode": "qq", "targetLanguageCodes": ["ko"]}, "qq"),
        ("/api/v2/autodub", {"mediaType": "AUDIO", "sourceLanguageCode": "en", "targetLanguageCode": "xx"}, "xx"),
        ("/api/v2/separate", {"mediaType": "AUDIO", "sourceLanguageCode": "xx"}, "xx"),
    ],
)
def test_unsupported_languages_are_refused_before_anything_is_stored_or_uploaded(
    perso_sim, alice_client, make_media, path, spec, field
):
    import json

    from apps.jobs.models import Job

    tone = make_media("tone.wav", seconds=6)
    with open(tone, "rb") as handle:
        response = alice_client.post(path, {"file": handle, "spec": json.dumps(spec)}, format="multipart")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "unsupported_language"
    assert repr(field) in body["detail"]
    assert "supported: en, ko, ja" in body["detail"]  # the codes of Perso's list
    assert not Job.objects.exists()
    assert not ExternalCall.objects.filter(endpoint__contains="/file/api/").exists()


def test_regional_codes_of_a_supported_language_pass(perso_sim, alice_client, make_media):
    import json

    tone = make_media("tone.wav", seconds=6)
    spec = {"mediaType": "AUDIO", "sourceLanguageCode": "en-US", "targetLanguageCodes": ["ko-KR"]}
    with open(tone, "rb") as handle:
        response = alice_client.post(
            "/api/v2/subtitles", {"file": handle, "spec": json.dumps(spec)}, format="multipart"
        )

    assert response.status_code == 202, response.content


@pytest.fixture
def silent_perso(settings):
    upstream = SilentUpstream()
    settings.PERSO_API_BASE_URL = upstream.url
    yield upstream
    upstream.close()


def test_a_perso_that_does_not_answer_holds_a_submit_check_once_and_only_for_the_web_timeout(silent_perso, settings):
    settings.PERSO_READ_TIMEOUT_SEC = 60  # a worker's patience, not a waiting phone's
    settings.PERSO_WEB_TIMEOUT_SEC = 1
    started = time.monotonic()
    perso_languages_check(source="en", targets=["ko"])  # skipped: the list cannot be had
    first_sec = time.monotonic() - started
    assert len(silent_perso.accepted) == 1
    assert first_sec < 30  # the web timeout (1 s), far from the 60 s a worker would wait

    started = time.monotonic()
    perso_languages_check(source="en", targets=["xx"])  # within the window: not asked again
    assert len(silent_perso.accepted) == 1
    assert time.monotonic() - started < first_sec


def test_languages_against_a_perso_that_does_not_answer_is_a_502_within_the_web_timeout(silent_perso, settings):
    settings.PERSO_READ_TIMEOUT_SEC = 60
    settings.PERSO_WEB_TIMEOUT_SEC = 1
    settings.PERSO_RETRY_BASE_MS = 10
    started = time.monotonic()
    response = APIClient().get("/api/v2/languages")
    assert response.status_code == 502
    assert response.json()["error"] == "perso_unavailable"
    assert time.monotonic() - started < 30
