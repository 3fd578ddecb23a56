"""The streaming API (issue 14): WebSocket and server-sent events, fed by the live hub.

Through the real app with Quart's test client: a watcher connects, another person acts
through the API, and the event arrives in Mastodon's format, only for those who may see it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from fedi.domain import follows
from tests.mastodon_api.oauth_helpers import bearer
from tests.mastodon_api.status_helpers import person_token, post_status, status_problems
from tests.tribe_helpers import actor_named

pytestmark = pytest.mark.db

WAIT = 20.0


async def _next_event(ws: Any, event: str) -> dict[str, Any]:
    """The next WebSocket message of kind ``event`` (others are skipped)."""
    async def read() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.receive())
            if message.get("event") == event:
                return dict(message)

    return await asyncio.wait_for(read(), WAIT)


async def test_websocket_user_stream(app: Any, client: Any) -> None:
    """The user stream sends followed people's posts as ``update``, a mention as
    ``notification`` and a deletion as ``delete``; another person's followers-only post
    never reaches a stranger's stream."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    _, carol = await person_token(app, "carol")
    async with app.state.db.session() as db:
        await follows.follow(
            db, app.state, await actor_named(db, "alice"), await actor_named(db, "bob")
        )
    async with client.websocket(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        await asyncio.sleep(0.2)
        await post_status(client, carol, status="Alleen voor mijn volgers", visibility="private")
        posted = await post_status(client, bob, status="Nieuw op het plein")
        update = await _next_event(ws, "update")
        assert update["stream"] == ["user"]
        status = json.loads(update["payload"])
        assert status["id"] == posted["id"] and status_problems(status) == []
        mention = await post_status(client, bob, status=f"@alice@{app.state.settings.host} kijk")
        note = await _next_event(ws, "notification")
        payload = json.loads(note["payload"])
        assert payload["type"] == "mention" and payload["status"]["id"] == mention["id"]
        deleted = await client.delete(f"/api/v1/statuses/{posted['id']}", headers=bearer(bob))
        assert deleted.status_code == 200
        gone = await _next_event(ws, "delete")
        assert gone["payload"] == posted["id"]


async def test_websocket_public_and_subscribe(app: Any, client: Any) -> None:
    """``public:local`` without a token; ``subscribe`` adds a stream on the open socket;
    a bad token is refused."""
    _, bob = await person_token(app, "bob")
    async with client.websocket("/api/v1/streaming?stream=public:local") as ws:
        await asyncio.sleep(0.2)
        await post_status(client, bob, status="Niet openbaar", visibility="unlisted")
        posted = await post_status(client, bob, status="Openbaar")
        update = await _next_event(ws, "update")
        assert json.loads(update["payload"])["id"] == posted["id"]
        assert update["stream"] == ["public:local"]
    async with client.websocket(f"/api/v1/streaming?access_token={bob}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
        await asyncio.sleep(0.3)
        posted = await post_status(client, bob, status="Via subscribe")
        update = await _next_event(ws, "update")
        assert json.loads(update["payload"])["id"] == posted["id"]
    async with client.websocket("/api/v1/streaming?stream=user&access_token=wrong") as ws:
        refused = json.loads(await asyncio.wait_for(ws.receive(), WAIT))
        assert refused["status"] == 401


async def test_server_sent_events(app: Any, client: Any) -> None:
    """``/api/v1/streaming/user`` (what Mastodon.py reads) sends ``event: update`` blocks;
    the health check answers OK."""
    _, bob = await person_token(app, "bob")
    health = await client.get("/api/v1/streaming/health")
    assert (await health.get_data(as_text=True)) == "OK"
    unauthorised = await client.get("/api/v1/streaming/user")
    assert unauthorised.status_code == 401
    async with client.request(
        "/api/v1/streaming/user", headers=bearer(bob)
    ) as connection:
        await connection.send_complete()
        await asyncio.sleep(0.2)
        posted = await post_status(client, bob, status="Via de stroom")
        received = b""

        async def read() -> None:
            nonlocal received
            while b"event: update" not in received or not received.endswith(b"\n\n"):
                received += await connection.receive()

        await asyncio.wait_for(read(), WAIT)
        block = received.split(b"event: update\n", 1)[1]
        data = block.split(b"\n", 1)[0]
        assert data.startswith(b"data: ")
        assert json.loads(data[len(b"data: "):])["id"] == posted["id"]
        await connection.disconnect()


async def test_boosts_stream_as_reblogs_and_their_undo_as_delete(app: Any, client: Any) -> None:
    """A boost by someone followed arrives as an ``update`` whose ``reblog`` is the post;
    taking it back sends ``delete`` with the boost's id."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    _, carol = await person_token(app, "carol")
    async with app.state.db.session() as db:
        await follows.follow(
            db, app.state, await actor_named(db, "alice"), await actor_named(db, "bob")
        )
    original = await post_status(client, carol, status="Boost dit")
    async with client.websocket(f"/api/v1/streaming?stream=user&access_token={alice}") as ws:
        await asyncio.sleep(0.2)
        boosted = await client.post(
            f"/api/v1/statuses/{original['id']}/reblog", headers=bearer(bob)
        )
        boost = await boosted.get_json()
        update = json.loads((await _next_event(ws, "update"))["payload"])
        assert update["id"] == boost["id"] and update["reblog"]["id"] == original["id"]
        undone = await client.post(
            f"/api/v1/statuses/{original['id']}/unreblog", headers=bearer(bob)
        )
        assert undone.status_code == 200
        gone = await _next_event(ws, "delete")
        assert gone["payload"] == boost["id"]
