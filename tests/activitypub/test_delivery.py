"""Delivery against a real loopback inbox, and how each answer is classified."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from loopback_server import LoopbackRequest, LoopbackServer

from activitypub.delivery import DeliveryResult, parse_retry_after, post_activity
from activitypub.fetcher import SigningKey
from activitypub.http_signatures import PublicKeyInfo, verify_request
from activitypub.urlpolicy import UrlPolicy

ACTIVITY = json.dumps(
    {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://tribes.example/tribes/g/accept/1",
        "type": "Accept",
        "actor": "https://tribes.example/tribes/g",
        "object": {
            "id": "https://m.example/f/1",
            "type": "Follow",
            "actor": "https://m.example/users/a",
            "object": "https://tribes.example/tribes/g",
        },
    }
).encode()
Reply = tuple[int, dict[str, str], bytes]


async def deliver(loopback: LoopbackServer, reply: Reply, key: SigningKey) -> DeliveryResult:
    async def handler(req: LoopbackRequest) -> Reply:
        return reply

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        return await post_activity(
            client, f"{loopback.base}/inbox", ACTIVITY, key, UrlPolicy(allow_private=True)
        )


@pytest.fixture
def key(rsa_keys: tuple[str, str]) -> SigningKey:
    return SigningKey("https://tribes.example/tribes/g#main-key", rsa_keys[0])


async def test_delivered_and_verifiable(
    loopback: LoopbackServer, key: SigningKey, rsa_keys: tuple[str, str]
) -> None:
    owners: list[str] = []

    async def handler(req: LoopbackRequest) -> Reply:
        async def resolve(key_id: str, refresh: bool) -> PublicKeyInfo:
            return PublicKeyInfo(key_id, "https://tribes.example/tribes/g", rsa_keys[1])

        assert req.headers["content-type"] == "application/activity+json"
        result = await verify_request(
            req.method, f"http://{req.headers['host']}{req.target}", req.headers, req.body, resolve
        )
        owners.append(result.owner)
        return 202, {}, b""

    loopback.handler = handler
    async with httpx.AsyncClient() as client:
        result = await post_activity(
            client, f"{loopback.base}/inbox", ACTIVITY, key, UrlPolicy(allow_private=True)
        )
    assert result == DeliveryResult(202, "delivered", None, None)
    assert owners == ["https://tribes.example/tribes/g"]
    assert loopback.requests[0].body == ACTIVITY


@pytest.mark.parametrize(
    ("reply", "outcome", "retry_after"),
    [
        ((200, {}, b""), "delivered", None),
        ((410, {}, b"gone"), "gone", None),
        ((429, {"Retry-After": "120"}, b""), "retry", 120.0),
        ((400, {}, b"bad"), "final", None),
        ((403, {}, b""), "final", None),
        ((401, {}, b""), "retry", None),
        ((408, {}, b""), "retry", None),
        ((500, {}, b""), "retry", None),
        ((503, {"Retry-After": "nonsense"}, b""), "retry", None),
        ((302, {"Location": "http://127.0.0.1:9/inbox"}, b""), "final", None),
    ],
)
async def test_classification(
    loopback: LoopbackServer,
    key: SigningKey,
    reply: Reply,
    outcome: str,
    retry_after: float | None,
) -> None:
    result = await deliver(loopback, reply, key)
    assert (result.status, result.outcome, result.retry_after) == (reply[0], outcome, retry_after)
    assert (result.error is None) == (outcome == "delivered")
    assert len(loopback.requests) == 1  # redirects are not followed


async def test_retry_after_http_date(loopback: LoopbackServer, key: SigningKey) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    result = await deliver(loopback, (503, {"Retry-After": when}, b""), key)
    assert result.outcome == "retry"
    assert result.retry_after is not None and 80 <= result.retry_after <= 90


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 29, 20, 30, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Sun, 29 Nov 2026 20:31:00 GMT", now) == 60.0
    assert parse_retry_after("Sun, 29 Nov 2026 20:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") is None


async def test_network_error_is_retried(key: SigningKey) -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as client:
        result = await post_activity(
            client, f"http://127.0.0.1:{port}/inbox", ACTIVITY, key, UrlPolicy(allow_private=True)
        )
    assert result.outcome == "retry" and result.status is None and result.error


async def test_refused_url_is_final(loopback: LoopbackServer, key: SigningKey) -> None:
    async with httpx.AsyncClient() as client:
        result = await post_activity(
            client, f"{loopback.base}/inbox", ACTIVITY, key, UrlPolicy(allow_private=False)
        )
    assert result.outcome == "final" and "refused" in (result.error or "")
    assert loopback.requests == []
