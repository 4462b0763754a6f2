import base64
import hashlib
import hmac

import pytest

from apps.core.signing import TokenInvalid, TokenMissing, sign_token, signed_path, token_expiry, verify_token

NOW = 1_800_000_000


def test_signed_token_round_trip():
    token = sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60)
    verify_token(token=token, job_id="sep-1", resource_id="speaker_0", now=NOW)
    assert token.startswith(f"{NOW + 60}.") and "=" not in token


def test_token_rejected_one_second_after_expiry():
    token = sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60)
    verify_token(token=token, job_id="sep-1", resource_id="speaker_0", now=NOW + 60)
    with pytest.raises(TokenInvalid):
        verify_token(token=token, job_id="sep-1", resource_id="speaker_0", now=NOW + 61)


@pytest.mark.parametrize(("job_id", "resource_id"), [("sep-2", "speaker_0"), ("sep-1", "speaker_1")])
def test_token_bound_to_job_and_resource(job_id, resource_id):
    token = sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60)
    with pytest.raises(TokenInvalid):
        verify_token(token=token, job_id=job_id, resource_id=resource_id, now=NOW)


@pytest.mark.parametrize("token", ["no-dot", "notanumber.sig", ".", "123.", f"{NOW + 60}.AAAA", "-5.abc"])
def test_malformed_tokens_are_403(token):
    with pytest.raises(TokenInvalid) as error:
        verify_token(token=token, job_id="sep-1", resource_id="x", now=NOW)
    assert error.value.status_code == 403


def test_truncated_and_swapped_tokens_are_rejected():
    token = sign_token(job_id="sep-1", resource_id="a", expires_at=NOW + 60)
    with pytest.raises(TokenInvalid):
        verify_token(token=token[:-3], job_id="sep-1", resource_id="a", now=NOW)
    later = sign_token(job_id="sep-1", resource_id="a", expires_at=NOW + 120)
    swapped = f"{NOW + 120}.{token.split('.')[1]}"
    assert swapped != later
    with pytest.raises(TokenInvalid):
        verify_token(token=swapped, job_id="sep-1", resource_id="a", now=NOW)


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_401(token):
    with pytest.raises(TokenMissing) as error:
        verify_token(token=token, job_id="sep-1", resource_id="x", now=NOW)
    assert error.value.status_code == 401


def test_short_secret_is_refused(settings):
    settings.SIGNING_SECRET = "too-short"
    with pytest.raises(ValueError):
        sign_token(job_id="a", resource_id="b", expires_at=NOW)


def test_expiry_never_outlives_the_artifact():
    assert token_expiry(ttl_sec=600, now=NOW) == NOW + 600
    assert token_expiry(ttl_sec=600, not_after=NOW + 100, now=NOW) == NOW + 100


def test_signed_path_is_path_only_with_token_query():
    url = signed_path(
        "/api/v2/subtitles/sub-1/srt", job_id="sub-1", resource_id="original", expires_at=NOW, lang="original"
    )
    assert url.startswith("/api/v2/subtitles/sub-1/srt?lang=original&token=")


def test_signature_is_the_documented_hmac_and_follows_a_changed_secret(settings):
    settings.SIGNING_SECRET = "a" * 40
    token = sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60)
    expected = hmac.new(b"a" * 40, f"sep-1:speaker_0:{NOW + 60}".encode(), hashlib.sha256).digest()
    assert token == f"{NOW + 60}.{base64.urlsafe_b64encode(expected).rstrip(b'=').decode()}"
    assert sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60) == token  # the cached key

    settings.SIGNING_SECRET = "b" * 40
    with pytest.raises(TokenInvalid):
        verify_token(token=token, job_id="sep-1", resource_id="speaker_0", now=NOW)


def test_a_short_signing_secret_is_refused(settings):
    settings.SIGNING_SECRET = "short"
    with pytest.raises(ValueError, match="at least"):
        sign_token(job_id="sep-1", resource_id="speaker_0", expires_at=NOW + 60)
