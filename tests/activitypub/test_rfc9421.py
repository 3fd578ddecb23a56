"""RFC 9421 message signatures in Mastodon 4.5's shape: round trips and refusals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.http_signatures import (
    BadSignature,
    DigestMismatch,
    InsufficientCoverage,
    MalformedSignature,
    PublicKeyInfo,
    StaleSignature,
    UnsupportedAlgorithm,
    verify_request,
)
from activitypub.keys import load_private_key
from activitypub.rfc9421 import sign_request_rfc9421
from activitypub.sigbase import KeyResolver
from activitypub.structured_fields import InnerList, Item, Token, parse_dictionary

NOW = datetime(2026, 11, 29, 20, 30, 0, tzinfo=UTC)
ACTOR = "https://mastodon.example/users/alice"
KEY_ID = ACTOR + "#main-key"
INBOX = "https://tribes.example/inbox"
BODY = (
    b'{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/'
    b'users/alice#likes/42","type":"Like","actor":"https://mastodon.example/users/alice",'
    b'"object":"https://tribes.example/initiatives/7"}'
)


def resolver(public_pem: str) -> KeyResolver:
    async def resolve(key_id: str, refresh: bool) -> PublicKeyInfo | None:
        return PublicKeyInfo(key_id, ACTOR, public_pem)

    return resolve


async def test_post_round_trip(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, private, now=NOW)
    assert added["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW.timestamp())};'
        f'keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert added["Content-Digest"].startswith("sha-256=:")
    result = await verify_request("POST", INBOX, added, BODY, resolver(public), now=NOW)
    assert (result.scheme, result.owner, result.key_id) == ("rfc9421", ACTOR, KEY_ID)


async def test_signature_base_matches_rfc_layout(rsa_keys: tuple[str, str]) -> None:
    """Rebuild the base by hand from the RFC's rules and check the RSA signature over it."""
    private = rsa_keys[0]
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, private, now=NOW)
    params = added["Signature-Input"].split("=", 1)[1]
    base = (
        '"@method": POST\n'
        f'"@target-uri": {INBOX}\n'
        f'"content-digest": {added["Content-Digest"]}\n'
        f'"@signature-params": {params}'
    )
    signature = base64.b64decode(added["Signature"].split("=:", 1)[1].rstrip(":"))
    key = load_private_key(private)
    assert isinstance(key, rsa.RSAPrivateKey)
    key.public_key().verify(signature, base.encode(), padding.PKCS1v15(), hashes.SHA256())


async def test_get_round_trip_without_body(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    url = "https://tribes.example/users/ann?page=1"
    added = sign_request_rfc9421("GET", url, {}, None, KEY_ID, private, now=NOW)
    assert "Content-Digest" not in added
    await verify_request("GET", url, added, None, resolver(public), now=NOW)


async def test_ed25519_round_trip() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, private, now=NOW)
    assert 'alg="ed25519"' in added["Signature-Input"]
    await verify_request("POST", INBOX, added, BODY, resolver(public), now=NOW)


async def test_tampering_is_detected(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, private, now=NOW)
    with pytest.raises(DigestMismatch):
        await verify_request("POST", INBOX, added, BODY + b" ", resolver(public), now=NOW)
    with pytest.raises(BadSignature):
        await verify_request("PUT", INBOX, added, BODY, resolver(public), now=NOW)
    with pytest.raises(BadSignature):
        await verify_request("POST", INBOX + "x", added, BODY, resolver(public), now=NOW)


async def test_wrong_key(rsa_keys: tuple[str, str], other_rsa_keys: tuple[str, str]) -> None:
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, rsa_keys[0], now=NOW)
    with pytest.raises(BadSignature):
        await verify_request("POST", INBOX, added, BODY, resolver(other_rsa_keys[1]), now=NOW)


async def test_time_window(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    old = sign_request_rfc9421(
        "POST", INBOX, {}, BODY, KEY_ID, private, now=NOW - timedelta(hours=2)
    )
    with pytest.raises(StaleSignature):
        await verify_request("POST", INBOX, old, BODY, resolver(public), now=NOW)
    future = sign_request_rfc9421(
        "POST", INBOX, {}, BODY, KEY_ID, private, now=NOW + timedelta(hours=2)
    )
    with pytest.raises(StaleSignature):
        await verify_request("POST", INBOX, future, BODY, resolver(public), now=NOW)
    short = sign_request_rfc9421(
        "POST",
        INBOX,
        {},
        BODY,
        KEY_ID,
        private,
        now=NOW - timedelta(minutes=10),
        expires_in=timedelta(minutes=5),
    )
    with pytest.raises(StaleSignature, match="expired"):
        await verify_request("POST", INBOX, short, BODY, resolver(public), now=NOW)


async def test_post_must_cover_content_digest(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    # Sign a GET-shaped signature (no content-digest) and present it on a POST.
    added = sign_request_rfc9421("POST", INBOX, {}, None, KEY_ID, private, now=NOW)
    with pytest.raises(InsufficientCoverage, match="content-digest"):
        await verify_request("POST", INBOX, added, BODY, resolver(public), now=NOW)


async def test_malformed_and_unsupported(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, private, now=NOW)
    bad = {**added, "Signature-Input": 'sig1=("@method"'}
    with pytest.raises(MalformedSignature):
        await verify_request("POST", INBOX, bad, BODY, resolver(public), now=NOW)
    other = {
        **added,
        "Signature-Input": added["Signature-Input"].replace("rsa-v1_5-sha256", "hmac-sha256"),
    }
    with pytest.raises(UnsupportedAlgorithm):
        await verify_request("POST", INBOX, other, BODY, resolver(public), now=NOW)
    mislabeled = {**added, "Signature": added["Signature"].replace("sig1=", "sig2=")}
    with pytest.raises(MalformedSignature):
        await verify_request("POST", INBOX, mislabeled, BODY, resolver(public), now=NOW)


def test_structured_field_dictionary() -> None:
    parsed = parse_dictionary(
        'sig1=("@method" "@target-uri");created=1700000000;keyid="k \\"1\\"";alg=tok, '
        "sig2=:aGVsbG8=:, flag"
    )
    first = parsed["sig1"]
    assert isinstance(first, InnerList)
    assert [i.value for i in first.items] == ["@method", "@target-uri"]
    assert first.params == {"created": 1700000000, "keyid": 'k "1"', "alg": "tok"}
    assert isinstance(first.params["alg"], Token)
    assert parsed["sig2"] == Item(b"hello")
    assert parsed["flag"] == Item(True)
