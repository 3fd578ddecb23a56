"""WebFinger lookups over loopback, and the inbox-side origin and body checks."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from loopback_server import LoopbackRequest, LoopbackServer

from activitypub.checks import (
    BadRequest,
    OriginError,
    check_activity_origin,
    embedded_needs_fetch,
    parse_json_body,
    untrusted_embedded_ids,
)
from activitypub.webfinger import WebFingerError, build_jrd, lookup

Reply = tuple[int, dict[str, str], bytes]


async def test_lookup_over_http_when_allowed(loopback: LoopbackServer) -> None:
    async def handler(req: LoopbackRequest) -> Reply:
        parts = urlsplit(req.target)
        assert parts.path == "/.well-known/webfinger"
        resource = parse_qs(parts.query)["resource"][0]
        if resource != f"acct:ann@{loopback.netloc}":
            return 404, {}, b""
        jrd = build_jrd(resource, f"{loopback.base}/users/ann", f"{loopback.base}/@ann", [])
        return 200, {"Content-Type": "application/jrd+json"}, json.dumps(jrd).encode()

    loopback.handler = handler
    async with httpx.AsyncClient(timeout=5) as client:
        # https is tried first (our plain server drops the TLS hello), then http.
        actor = await lookup(f"@ann@{loopback.netloc}", client, allow_http=True)
        assert actor == f"{loopback.base}/users/ann"
        with pytest.raises(WebFingerError):
            await lookup(f"ann@{loopback.netloc}", client, allow_http=False)
        with pytest.raises(WebFingerError, match="404"):
            await lookup(f"nobody@{loopback.netloc}", client, allow_http=True)
        with pytest.raises(WebFingerError):
            await lookup("https://x.example/users/ann", client, allow_http=True)


async def test_lookup_without_self_link(loopback: LoopbackServer) -> None:
    async def handler(req: LoopbackRequest) -> Reply:
        jrd = {
            "subject": "acct:ann@x",
            "links": [{"rel": "self", "type": "text/html", "href": "http://x/ann"}],
        }
        return 200, {"Content-Type": "application/jrd+json"}, json.dumps(jrd).encode()

    loopback.handler = handler
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(WebFingerError, match="self link"):
            await lookup(f"ann@{loopback.netloc}", client, allow_http=True)


MASTO = "https://mastodon.example/users/alice"


def test_origin_ok() -> None:
    check_activity_origin(
        {
            "id": "https://mastodon.example/f/1",
            "type": "Follow",
            "actor": MASTO,
            "object": "https://tribes.example/tribes/g",
        },
        MASTO,
    )
    # actor given as an embedded object is fine too
    check_activity_origin({"id": "https://mastodon.example/f/1", "actor": {"id": MASTO}}, MASTO)


@pytest.mark.parametrize(
    ("activity", "signer", "status"),
    [
        ({"actor": MASTO}, MASTO, 403),
        ({"id": "https://mastodon.example/x"}, MASTO, 403),
        ({"id": "https://evil.example/x", "actor": MASTO}, MASTO, 403),
        (
            {"id": "https://mastodon.example/x", "actor": MASTO},
            "https://mastodon.example/users/mallory",
            401,
        ),
        ({"id": "https://mastodon.example:8443/x", "actor": MASTO}, MASTO, 403),
    ],
)
def test_origin_refusals(activity: dict[str, object], signer: str, status: int) -> None:
    with pytest.raises(OriginError) as info:
        check_activity_origin(activity, signer)
    assert info.value.status == status


def test_embedded_objects() -> None:
    # Mastodon's Create{Note}: the note lives on the actor's host -> trusted.
    create = {
        "id": f"{MASTO}/statuses/1/activity",
        "type": "Create",
        "actor": MASTO,
        "object": {"id": f"{MASTO}/statuses/1", "type": "Note"},
    }
    assert not embedded_needs_fetch(create)
    # Lemmy community announcing a user's Create from another instance -> refetch.
    announce = {
        "id": "https://lemmy.example/activities/announce/1",
        "type": "Announce",
        "actor": "https://lemmy.example/c/gardens",
        "object": {
            "id": "https://other.example/activities/create/9",
            "type": "Create",
            "actor": "https://other.example/u/dan",
            "object": {"id": "https://other.example/post/3", "type": "Page"},
        },
    }
    assert untrusted_embedded_ids(announce) == ["https://other.example/activities/create/9"]
    # Accept of our own Follow: the embedded Follow is ours, resolve it locally by id.
    accept = {
        "id": f"{MASTO}#accepts/follows/1",
        "type": "Accept",
        "actor": MASTO,
        "object": {"id": "https://tribes.example/follows/1", "type": "Follow"},
    }
    assert untrusted_embedded_ids(accept) == ["https://tribes.example/follows/1"]
    # Nested Undo{Like} on the same host, with a bare id at the bottom -> trusted.
    undo = {
        "id": f"{MASTO}#likes/1/undo",
        "type": "Undo",
        "actor": MASTO,
        "object": {
            "id": f"{MASTO}#likes/1",
            "type": "Like",
            "object": "https://tribes.example/initiatives/4",
        },
    }
    assert not embedded_needs_fetch(undo)
    # Same host on the outside, foreign object nested deeper -> refetch.
    sneaky = {
        **undo,
        "object": {
            **undo["object"],  # type: ignore[dict-item]
            "object": {"id": "https://evil.example/n/1", "type": "Note"},
        },
    }
    assert untrusted_embedded_ids(sneaky) == ["https://evil.example/n/1"]


def test_parse_json_body() -> None:
    assert parse_json_body(b'{"type": "Follow"}', 100) == {"type": "Follow"}
    for body, status in [(b"x" * 101, 413), (b"{nope", 400), (b"[]", 400), (b'"s"', 400)]:
        with pytest.raises(BadRequest) as info:
            parse_json_body(body, 100)
        assert info.value.status == status
