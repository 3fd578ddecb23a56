"""SSRF through redirects: a fetch that a remote server redirects to a private address is refused.

The instance runs with the production URL policy (no private addresses, ``allow_private``
off); its resolver (the test's DNS) makes the fake remote server ``localhost:9001`` public
and ``intranet.example`` private. The remote server answers some URLs with a redirect to
cloud metadata, loopback, an IPv6 loopback, a private name or an odd spelling of
127.0.0.1. Every way in that makes the instance fetch is tried: the object of a Create,
the object of an Announce, the parent of a reply, the key of a signature, and a C2S Follow.
Each internal address is a recording server on the routing transport, so a request that
got through would be seen there. None may be; the inbox items end ignored, never retried.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from attack_helpers import (
    PUBLIC,
    FakeActor,
    RecordingServer,
    World,
    drain,
    post_inbox,
    post_outbox,
    world,
)
from sqlalchemy import select

from activitypub.urlpolicy import IPAddress, UrlPolicy, UrlRefused
from models import InboxItem

ALICE = "http://localhost:8001/users/alice"
# Where each redirecting path of the remote server points.
TARGETS = {
    "/notes/to-metadata": "http://169.254.169.254/latest/meta-data/",
    "/notes/to-intranet": "http://intranet.example/admin",
    "/notes/to-v6-loopback": "http://[::1]:8080/",
    "/notes/to-loopback": "http://127.0.0.1:8080/secret",
    "/notes/to-odd-loopback": "http://0x7f.1:8080/",
    "/users/mallory": "http://127.0.0.1:8080/users/mallory",
    "/users/to-private": "http://10.0.0.7/users/x",
}
INTERNAL_HOSTS = [
    "169.254.169.254", "intranet.example", "[::1]:8080", "127.0.0.1:8080", "0x7f.1:8080",
    "10.0.0.7",
]
DNS: dict[str, list[IPAddress]] = {
    "localhost": [ipaddress.ip_address("93.184.216.34")],  # the remote server, "public"
    "intranet.example": [ipaddress.ip_address("10.1.2.3")],
}


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return DNS[host]
    except KeyError:
        raise UrlRefused(f"cannot resolve {host}") from None


class Redirecting(RecordingServer):
    """The remote server, answering the paths in ``TARGETS`` with a 302."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Redirect the listed paths; serve the rest like a recording server."""
        location = TARGETS.get(scope["path"])
        if location is None or scope["method"] != "GET":
            await super().__call__(scope, receive, send)
            return
        self.requests.append((scope["method"], scope["path"]))
        await send({
            "type": "http.response.start", "status": 302,
            "headers": [(b"location", location.encode())],
        })
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[World]:
    """The attack world under the production policy, with the internal hosts listening."""
    policy = UrlPolicy(allow_private=False, allow_http=True, resolver=_resolve)
    async with world(tmp_path, policy=policy, allow_private_network=False) as made:
        server = Redirecting(made.server.host)
        server.docs = made.server.docs
        made.router.add(server.host, server)
        made.server = server
        made.fiona.server = server
        made.internal = {}  # type: ignore[attr-defined]
        for host in INTERNAL_HOSTS:
            sink = RecordingServer(host)
            sink.docs["/"] = {"id": f"http://{host}/"}
            made.router.add(host, sink)
            made.internal[host] = sink  # type: ignore[attr-defined]
        yield made


def _leaks(w: World) -> dict[str, Any]:
    internal: dict[str, RecordingServer] = w.internal  # type: ignore[attr-defined]
    return {host: sink.requests for host, sink in internal.items() if sink.requests}


async def test_redirects_to_private_addresses_are_never_followed(strict: World) -> None:
    base = strict.server.url("")
    fiona = strict.fiona
    activities = [
        fiona.activity("Create", f"{base}/notes/to-metadata", to=[PUBLIC], cc=[ALICE]),
        fiona.activity("Announce", f"{base}/notes/to-intranet", to=[PUBLIC], cc=[ALICE]),
        fiona.activity(
            "Create", strict.note("a reply", inReplyTo=f"{base}/notes/to-v6-loopback"),
            to=[PUBLIC], cc=[ALICE],
        ),
        fiona.activity("Like", f"{base}/notes/to-loopback"),
        fiona.activity("Announce", f"{base}/notes/to-odd-loopback", to=[PUBLIC]),
    ]
    for activity in activities:
        assert await post_inbox(strict, orjson.dumps(activity)) == 202
    await drain(strict.app)

    # The signature of an actor whose key document redirects inward is never checked.
    mallory = FakeActor(strict.server, "/users/mallory-real")
    mallory.server.docs.pop("/users/mallory-real")
    mallory.path = "/users/mallory"
    forged = mallory.activity("Create", strict.note("from mallory"), to=[PUBLIC])
    assert await post_inbox(strict, orjson.dumps(forged), signer=mallory) == 401

    # Nor does a C2S Follow of such an actor make the instance fetch inward.
    status, _ = await post_outbox(
        strict, orjson.dumps({"type": "Follow", "object": f"{base}/users/to-private"})
    )
    assert 400 <= status < 500

    assert not _leaks(strict), _leaks(strict)
    fetched = {path for method, path in strict.server.requests if method == "GET"}
    assert set(TARGETS) <= fetched, set(TARGETS) - fetched  # every redirect was tried
    async with strict.app.state.db.session() as db:
        items = list(await db.scalars(select(InboxItem)))
    assert len(items) == len(activities)
    for item in items:
        assert item.state in ("ignored", "done") and item.attempts == 0, (
            item.type, item.state, item.attempts, item.error
        )
