"""The Google sign-in simulator's signing key and certificate, kept in the data folder so every
process of an embedded install (web, workers, tests) agrees on them."""

import datetime
import json
import os
import time
from functools import lru_cache

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

KEY_ID = "vibi-sim-key-1"
ISSUER = "https://accounts.google.com"


@lru_cache(maxsize=1)
def signing_material() -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM), created once per data folder."""
    key_file = settings.DATA_DIR / "sim-google-key.json"
    if key_file.exists():
        stored = json.loads(key_file.read_text())
        return stored["key"].encode(), stored["cert"].encode()
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vibi google simulator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private_key, hashes.SHA256())
    )
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    temp_file = key_file.with_name(f"{key_file.name}.{os.getpid()}.tmp")
    temp_file.write_text(json.dumps({"key": key_pem.decode(), "cert": cert_pem.decode()}))
    try:
        os.link(temp_file, key_file)  # fails if another process got there first: theirs wins
    except FileExistsError:
        pass
    finally:
        temp_file.unlink(missing_ok=True)
    stored = json.loads(key_file.read_text())
    return stored["key"].encode(), stored["cert"].encode()


def certs_document() -> dict:
    return {KEY_ID: signing_material()[1].decode()}


def issue_id_token(
    *,
    sub: str,
    email: str,
    aud: str,
    name: str | None = None,
    picture: str | None = None,
    email_verified: bool = True,
    expires_in: int = 3600,
    issuer: str = ISSUER,
    now: int | None = None,
) -> str:
    issued_at = int(now if now is not None else time.time())
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": aud,
        "email": email,
        "email_verified": email_verified,
        "iat": issued_at,
        "exp": issued_at + expires_in,
    }
    if name:
        claims["name"] = name
    if picture:
        claims["picture"] = picture
    return jwt.encode(claims, signing_material()[0], algorithm="RS256", headers={"kid": KEY_ID})
