"""Sign-in with Google through the simulator's certs over real HTTP, and the platform's own JWT."""

import base64
import json
import time

import jwt
import pytest
from django.conf import settings

from apps.accounts.models import User
from apps.accounts.services import access_token_issue, access_token_user
from apps.core.errors import Unauthorized
from apps.simulators.google.keys import issue_id_token

pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE = "vibi-embedded.apps.googleusercontent.com"


def _sign_in(client, id_token):
    return client.post("/api/v2/auth/google", {"idToken": id_token}, format="json")


@pytest.fixture
def api(simulators):
    from rest_framework.test import APIClient

    return APIClient()


def test_valid_google_token_signs_in_and_issues_a_three_part_jwt(api):
    id_token = issue_id_token(sub="g-123", email="kim@example.com", aud=AUDIENCE, name="Kim", picture="https://p/x.png")
    response = _sign_in(api, id_token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == {"sub": "g-123", "email": "kim@example.com", "name": "Kim", "picture": "https://p/x.png"}
    assert isinstance(body["expiresAt"], int) and body["expiresAt"] > time.time() * 1000
    header, payload, signature = body["accessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "g-123" and claims["iss"] == "vibi-bff" and claims["aud"] == "vibi-mobile"
    assert claims["exp"] - claims["iat"] <= 30 * 24 * 3600
    assert User.objects.get(google_sub="g-123").email == "kim@example.com"


def test_sign_in_twice_updates_the_same_user_and_name_falls_back_to_email(api):
    _sign_in(api, issue_id_token(sub="g-1", email="first@example.com", aud=AUDIENCE))
    response = _sign_in(api, issue_id_token(sub="g-1", email="second@example.com", aud=AUDIENCE))
    assert response.json()["user"]["name"] == "second"
    assert response.json()["user"]["picture"] is None
    assert User.objects.filter(google_sub="g-1").count() == 1
    assert User.objects.get(google_sub="g-1").email == "second@example.com"


@pytest.mark.parametrize(
    ("token_kwargs", "code"),
    [
        ({"expires_in": -120}, "google_token_expired"),
        ({"aud": "someone-else.apps.googleusercontent.com"}, "google_aud_mismatch"),
        ({"email_verified": False}, "google_email_unverified"),
        ({"issuer": "https://evil.example.com"}, "invalid_id_token"),
    ],
)
def test_rejected_google_tokens_answer_401_with_a_code(api, token_kwargs, code):
    arguments = {"sub": "g-9", "email": "x@example.com", "aud": AUDIENCE} | token_kwargs
    response = _sign_in(api, issue_id_token(**arguments))
    assert response.status_code == 401
    assert response.json()["error"] == code
    assert not User.objects.filter(google_sub="g-9").exists()


def test_tampered_google_token_is_401(api):
    header, payload, signature = issue_id_token(sub="g-5", email="a@example.com", aud=AUDIENCE).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = _sign_in(api, f"{header}.{forged}.{signature}")
    assert response.status_code == 401 and response.json()["error"] == "invalid_id_token"


def test_token_signed_by_a_foreign_key_is_401(api):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    claims = {
        "iss": "https://accounts.google.com",
        "sub": "g-7",
        "aud": AUDIENCE,
        "email": "e@example.com",
        "email_verified": True,
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    token = jwt.encode(claims, foreign_key, algorithm="RS256", headers={"kid": "vibi-sim-key-1"})
    assert _sign_in(api, token).status_code == 401


@pytest.mark.parametrize("body", [{}, {"idToken": ""}, {"idToken": None}])
def test_missing_id_token_is_400(api, body):
    response = api.post("/api/v2/auth/google", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "missing_id_token"


def test_malformed_json_body_is_400_in_error_shape(api):
    response = api.post("/api/v2/auth/google", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) <= {"error", "detail"}


def test_access_token_round_trip_and_rejections(alice):
    token = access_token_issue(user=alice).token
    assert access_token_user(token=token) == alice
    expired = access_token_issue(user=alice, now=int(time.time()) - settings.AUTH_JWT_EXPIRY_SECONDS - 10).token
    with pytest.raises(Unauthorized) as expired_error:
        access_token_user(token=expired)
    assert expired_error.value.code == "token_expired"
    head, payload, signature = token.split(".")
    with pytest.raises(Unauthorized):
        access_token_user(token=f"{head}.{payload}.{signature[:-2]}xx")
    foreign = jwt.encode(
        {"sub": alice.google_sub, "iss": "vibi-bff", "aud": "vibi-mobile", "exp": time.time() + 60},
        "another-secret-of-at-least-32-characters!!",
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        access_token_user(token=foreign)
    other_audience = jwt.encode(
        {"sub": alice.google_sub, "iss": "vibi-bff", "aud": "other", "exp": time.time() + 60},
        settings.AUTH_JWT_SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        access_token_user(token=other_audience)
