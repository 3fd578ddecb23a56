"""draft-cavage HTTP signatures: our signer, other servers' shapes, and every refusal path."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from loopback_server import LoopbackRequest, LoopbackServer

from activitypub.http_signatures import (
    BadSignature,
    DigestMismatch,
    HttpSignatureAuth,
    InsufficientCoverage,
    KeyUnavailable,
    MalformedSignature,
    MissingSignature,
    PublicKeyInfo,
    StaleSignature,
    UnsupportedAlgorithm,
    parse_signature_header,
    sign_request,
    verify_request,
)
from activitypub.keys import load_private_key
from activitypub.sigbase import KeyResolver

NOW = datetime(2026, 11, 29, 20, 30, 0, tzinfo=UTC)
ACTOR = "https://mastodon.example/users/alice"
KEY_ID = ACTOR + "#main-key"
INBOX = "https://tribes.example/inbox"


def resolver_for(
    public_pem: str, owner: str = ACTOR, calls: list[tuple[str, bool]] | None = None
) -> KeyResolver:
    """A key resolver that always answers with one key and records its calls."""

    async def resolve(key_id: str, refresh: bool) -> PublicKeyInfo | None:
        if calls is not None:
            calls.append((key_id, refresh))
        return PublicKeyInfo(key_id, owner, public_pem)

    return resolve


def foreign_sign(
    *,
    method: str,
    path: str,
    headers: dict[str, str],
    covered: list[str],
    private_pem: str,
    key_id: str = KEY_ID,
    algorithm: str | None = "rsa-sha256",
    extra_params: str = "",
    created: int | None = None,
) -> str:
    """Sign like another server would, independently of our signer (returns Signature value)."""
    lines = []
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        elif name == "(created)":
            lines.append(f"(created): {created}")
        else:
            lines.append(f"{name}: {lowered[name]}")
    key = load_private_key(private_pem)
    data = "\n".join(lines).encode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(data)
    else:
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    return (
        f'keyId="{key_id}",{alg}headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(sig).decode()}"{extra_params}'
    )


def http_date(dt: datetime) -> str:
    return format_datetime(dt, usegmt=True)


def sha256_digest(body: bytes, name: str = "SHA-256") -> str:
    return f"{name}=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


FOLLOW = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "id": "https://mastodon.example/4b6e2b9a-52f0-4c55-9c3c-8f9b1d0e7a21",
    "type": "Follow",
    "actor": ACTOR,
    "object": "https://tribes.example/tribes/harbour-garden",
}

CREATE_NOTE = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"},
    ],
    "id": f"{ACTOR}/statuses/113500000000000001/activity",
    "type": "Create",
    "actor": ACTOR,
    "published": "2026-11-29T20:29:58Z",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": [f"{ACTOR}/followers", "https://tribes.example/tribes/harbour-garden"],
    "object": {
        "id": f"{ACTOR}/statuses/113500000000000001",
        "type": "Note",
        "attributedTo": ACTOR,
        "content": '<p><span class="h-card"><a href="https://tribes.example/tribes/harbour-garden" '
        'class="u-url mention">@<span>harbour-garden</span></a></span> who waters on Sunday?</p>',
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{ACTOR}/followers", "https://tribes.example/tribes/harbour-garden"],
        "tag": [
            {
                "type": "Mention",
                "href": "https://tribes.example/tribes/harbour-garden",
                "name": "@harbour-garden@tribes.example",
            }
        ],
    },
}


async def test_get_round_trip(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    url = "https://tribes.example/tribes/harbour-garden?page=2"
    added = sign_request("GET", url, {}, None, KEY_ID, private, now=NOW)
    assert set(added) == {"Date", "Host", "Signature"}
    assert added["Host"] == "tribes.example"
    assert added["Date"] == "Sun, 29 Nov 2026 20:30:00 GMT"
    params = parse_signature_header(added["Signature"])
    assert params["headers"] == "(request-target) host date"
    assert params["algorithm"] == "rsa-sha256"
    result = await verify_request("GET", url, added, None, resolver_for(public), now=NOW)
    assert (result.key_id, result.owner, result.scheme) == (KEY_ID, ACTOR, "cavage")


async def test_post_round_trip_keeps_port_in_host(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    url = "http://localhost:8001/inbox"
    body = json.dumps(FOLLOW).encode()
    added = sign_request("POST", url, {}, body, KEY_ID, private, now=NOW)
    assert added["Host"] == "localhost:8001"
    assert added["Digest"] == sha256_digest(body)
    params = parse_signature_header(added["Signature"])
    assert params["headers"] == "(request-target) host date digest"
    result = await verify_request("POST", url, added, body, resolver_for(public), now=NOW)
    assert result.owner == ACTOR


async def test_mastodon_shaped_create_note(rsa_keys: tuple[str, str]) -> None:
    """Mastodon signs POSTs with (request-target) host date digest content-type, rsa-sha256."""
    private, public = rsa_keys
    body = json.dumps(CREATE_NOTE).encode()
    headers = {
        "Host": "tribes.example",
        "Date": http_date(NOW - timedelta(seconds=3)),
        "Digest": sha256_digest(body),
        "Content-Type": "application/activity+json",
        "User-Agent": "http.rb/5.2.0 (Mastodon/4.3.0; +https://mastodon.example/)",
    }
    headers["Signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "host", "date", "digest", "content-type"],
        private_pem=private,
    )
    result = await verify_request("POST", INBOX, headers, body, resolver_for(public), now=NOW)
    assert result.key_id == KEY_ID


async def test_lemmy_shaped_hs2019_sorted_headers(rsa_keys: tuple[str, str]) -> None:
    """Lemmy (activitypub-federation) sends hs2019 with an alphabetically sorted header list."""
    private, public = rsa_keys
    body = json.dumps({**FOLLOW, "actor": "https://lemmy.example/u/bob"}).encode()
    headers = {
        "host": "tribes.example",
        "date": http_date(NOW),
        "digest": sha256_digest(body),
        "content-type": "application/activity+json",
    }
    headers["signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "content-type", "date", "digest", "host"],
        private_pem=private,
        key_id="https://lemmy.example/u/bob#main-key",
        algorithm="hs2019",
    )
    resolver = resolver_for(public, owner="https://lemmy.example/u/bob")
    result = await verify_request("POST", INBOX, headers, body, resolver, now=NOW)
    assert result.owner == "https://lemmy.example/u/bob"


async def test_mobilizon_join_lowercase_digest_name_no_algorithm(rsa_keys: tuple[str, str]) -> None:
    """A Mobilizon-style Join, with a lowercase sha-256 digest name and no algorithm param."""
    private, public = rsa_keys
    join = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://litepub.social/context.jsonld",
        ],
        "id": "https://mobilizon.example/join/group/0f6b4a4e-3c39-4f0b-9d1a-6a0c2a5c4b11",
        "type": "Join",
        "actor": "https://mobilizon.example/@carol",
        "object": "https://tribes.example/tribes/harbour-garden",
        "participationMessage": None,
    }
    body = json.dumps(join).encode()
    headers = {
        "Host": "tribes.example",
        "Date": http_date(NOW),
        "Digest": sha256_digest(body, "sha-256"),
        "Content-Length": str(len(body)),
    }
    headers["Signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "content-length", "date", "digest", "host"],
        private_pem=private,
        key_id="https://mobilizon.example/@carol#main-key",
        algorithm=None,
    )
    resolver = resolver_for(public, owner="https://mobilizon.example/@carol")
    result = await verify_request("POST", INBOX, headers, body, resolver, now=NOW)
    assert result.owner == "https://mobilizon.example/@carol"


async def test_header_lookup_is_case_insensitive(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    body = b'{"type":"Like"}'
    added = sign_request("POST", INBOX, {}, body, KEY_ID, private, now=NOW)
    weird = {k.upper() if i % 2 else k.lower(): v for i, (k, v) in enumerate(added.items())}
    assert (
        await verify_request(
            "POST", INBOX, httpx.Headers(weird), body, resolver_for(public), now=NOW
        )
    ).owner == ACTOR


async def test_tampered_body_is_a_digest_mismatch(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    body = json.dumps(FOLLOW).encode()
    added = sign_request("POST", INBOX, {}, body, KEY_ID, private, now=NOW)
    with pytest.raises(DigestMismatch):
        await verify_request(
            "POST", INBOX, added, body.replace(b"Follow", b"Block"), resolver_for(public), now=NOW
        )


async def test_tampered_body_with_recomputed_digest_fails_signature(
    rsa_keys: tuple[str, str],
) -> None:
    private, public = rsa_keys
    body = json.dumps(FOLLOW).encode()
    added = sign_request("POST", INBOX, {}, body, KEY_ID, private, now=NOW)
    forged = body.replace(b"Follow", b"Block")
    added["Digest"] = sha256_digest(forged)
    with pytest.raises(BadSignature):
        await verify_request("POST", INBOX, added, forged, resolver_for(public), now=NOW)


async def test_wrong_key_fails(rsa_keys: tuple[str, str], other_rsa_keys: tuple[str, str]) -> None:
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, rsa_keys[0], now=NOW)
    with pytest.raises(BadSignature):
        await verify_request("POST", INBOX, added, b"{}", resolver_for(other_rsa_keys[1]), now=NOW)


@pytest.mark.parametrize("offset", [timedelta(hours=-1, minutes=-5), timedelta(hours=1, minutes=5)])
async def test_date_outside_window(rsa_keys: tuple[str, str], offset: timedelta) -> None:
    private, public = rsa_keys
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, private, now=NOW + offset)
    with pytest.raises(StaleSignature):
        await verify_request("POST", INBOX, added, b"{}", resolver_for(public), now=NOW)


async def test_date_inside_window_is_fine(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, private, now=NOW - timedelta(minutes=55))
    await verify_request("POST", INBOX, added, b"{}", resolver_for(public), now=NOW)


async def test_replay_to_another_path_fails(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, private, now=NOW)
    with pytest.raises(BadSignature):
        await verify_request(
            "POST",
            "https://tribes.example/tribes/x/inbox",
            added,
            b"{}",
            resolver_for(public),
            now=NOW,
        )
    with pytest.raises(BadSignature):
        await verify_request("POST", INBOX + "?x=1", added, b"{}", resolver_for(public), now=NOW)


async def test_post_without_signed_digest_is_refused(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    headers = {"Host": "tribes.example", "Date": http_date(NOW)}
    headers["Signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "host", "date"],
        private_pem=private,
    )
    with pytest.raises(InsufficientCoverage, match="digest"):
        await verify_request("POST", INBOX, headers, b"{}", resolver_for(public), now=NOW)


async def test_signature_without_request_target_is_refused(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    headers = {"Host": "tribes.example", "Date": http_date(NOW)}
    headers["Signature"] = foreign_sign(
        method="GET", path="/", headers=headers, covered=["host", "date"], private_pem=private
    )
    with pytest.raises(InsufficientCoverage, match="request-target"):
        await verify_request("GET", INBOX, headers, None, resolver_for(public), now=NOW)


async def test_missing_and_unsupported(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    with pytest.raises(MissingSignature):
        await verify_request(
            "POST", INBOX, {"Date": http_date(NOW)}, b"{}", resolver_for(public), now=NOW
        )
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, private, now=NOW)
    added["Signature"] = added["Signature"].replace("rsa-sha256", "hmac-sha256")
    with pytest.raises(UnsupportedAlgorithm):
        await verify_request("POST", INBOX, added, b"{}", resolver_for(public), now=NOW)


async def test_unknown_key_is_key_unavailable(rsa_keys: tuple[str, str]) -> None:
    async def nothing(key_id: str, refresh: bool) -> PublicKeyInfo | None:
        return None

    added = sign_request("GET", INBOX, {}, None, KEY_ID, rsa_keys[0], now=NOW)
    with pytest.raises(KeyUnavailable):
        await verify_request("GET", INBOX, added, None, nothing, now=NOW)


async def test_key_rotation_refreshes_once(
    rsa_keys: tuple[str, str], other_rsa_keys: tuple[str, str]
) -> None:
    """The cache holds the old key; the sender already signs with the new one."""
    new_private, new_public = rsa_keys
    old_public = other_rsa_keys[1]
    calls: list[tuple[str, bool]] = []

    async def rotating(key_id: str, refresh: bool) -> PublicKeyInfo | None:
        calls.append((key_id, refresh))
        return PublicKeyInfo(key_id, ACTOR, new_public if refresh else old_public)

    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, new_private, now=NOW)
    result = await verify_request("POST", INBOX, added, b"{}", rotating, now=NOW)
    assert result.owner == ACTOR
    assert calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_forged_signature_refreshes_only_once(
    rsa_keys: tuple[str, str], other_rsa_keys: tuple[str, str]
) -> None:
    calls: list[tuple[str, bool]] = []
    added = sign_request("POST", INBOX, {}, b"{}", KEY_ID, other_rsa_keys[0], now=NOW)
    with pytest.raises(BadSignature):
        await verify_request(
            "POST", INBOX, added, b"{}", resolver_for(rsa_keys[1], calls=calls), now=NOW
        )
    assert calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_hs2019_created_with_ed25519() -> None:
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
    body = b'{"type":"Like"}'
    created = int(NOW.timestamp()) - 10
    headers = {"Host": "tribes.example", "Digest": sha256_digest(body)}
    headers["Signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "(created)", "host", "digest"],
        private_pem=private,
        algorithm="hs2019",
        created=created,
        extra_params=f",created={created},expires={created + 300}",
    )
    result = await verify_request("POST", INBOX, headers, body, resolver_for(public), now=NOW)
    assert result.scheme == "cavage"
    stale = NOW + timedelta(hours=2)
    with pytest.raises(StaleSignature):
        await verify_request("POST", INBOX, headers, body, resolver_for(public), now=stale)


async def test_created_pseudo_header_with_rsa_sha256_is_malformed(
    rsa_keys: tuple[str, str],
) -> None:
    private, public = rsa_keys
    created = int(NOW.timestamp())
    headers = {"Host": "tribes.example", "Digest": sha256_digest(b"{}")}
    headers["Signature"] = foreign_sign(
        method="POST",
        path="/inbox",
        headers=headers,
        covered=["(request-target)", "(created)", "host", "digest"],
        private_pem=private,
        algorithm="rsa-sha256",
        created=created,
        extra_params=f",created={created}",
    )
    with pytest.raises(MalformedSignature):
        await verify_request("POST", INBOX, headers, b"{}", resolver_for(public), now=NOW)


def test_parse_signature_header_is_robust() -> None:
    value = (
        ' keyId = "https://a.example/u/x#main-key" ,algorithm="rsa-sha256", '
        'headers="(request-target) host date",signature="ab,c\\"d==",created=1700000000'
    )
    params = parse_signature_header(value)
    assert params == {
        "keyId": "https://a.example/u/x#main-key",
        "algorithm": "rsa-sha256",
        "headers": "(request-target) host date",
        "signature": 'ab,c"d==',
        "created": "1700000000",
    }
    with pytest.raises(MalformedSignature):
        parse_signature_header('keyId="unterminated')


async def test_httpx_auth_signs_requests_and_redirect_hops(
    loopback: LoopbackServer, rsa_keys: tuple[str, str]
) -> None:
    private, public = rsa_keys
    verified: list[str] = []

    async def handler(req: LoopbackRequest) -> tuple[int, dict[str, str], bytes]:
        url = f"http://{req.headers['host']}{req.target}"
        result = await verify_request(
            req.method, url, req.headers, req.body or None, resolver_for(public)
        )
        verified.append(f"{req.method} {req.target} {result.owner}")
        if req.target == "/old":
            return 302, {"Location": "/new"}, b""
        return 200, {"Content-Type": "application/activity+json"}, b"{}"

    loopback.handler = handler
    auth = HttpSignatureAuth(KEY_ID, private, max_redirects=2)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.post(f"{loopback.base}/inbox", content=b'{"a":1}')
        assert response.status_code == 200
        response = await client.get(f"{loopback.base}/old")
        assert response.status_code == 200
    assert verified == [f"POST /inbox {ACTOR}", f"GET /old {ACTOR}", f"GET /new {ACTOR}"]
