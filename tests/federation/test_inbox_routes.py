"""The inboxes over HTTP: every refusal with its status, and what is stored when accepted.

Requests go through httpx into the app (ASGI), signed by fake remote actors whose documents
are served by fake servers on the same routing transport, so key fetches are real requests.
Runs on SQLite and PostgreSQL (the insert-or-ignore is dialect specific).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fakes import PUBLIC, FakeActor, FakeServer
from harness import add_local_person, make_app
from routing import RoutingTransport
from sqlalchemy import func, select

from activitypub.keys import generate_rsa_keypair
from fedi.domain.accounts import create_user
from fedi.domain.tokens import create_token
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.state import FediApp
from fedi.workers.inbox import InboxWorker
from models import Actor, DomainBlock, InboxEntry, InboxItem

BASE = "http://localhost:8001"
MAX_BODY = 20_000


@dataclass
class Env:
    """One instance with a local person ``bob``, fake remote servers and an HTTP client."""

    app: FediApp
    router: RoutingTransport
    http: httpx.AsyncClient
    masto: FakeServer
    lemmy: FakeServer
    mobilizon: FakeServer
    alice: FakeActor

    async def post(self, path: str, activity: dict[str, Any], actor: FakeActor | None = None,
                   **sign: Any) -> httpx.Response:
        """POST ``activity`` to ``path`` signed by ``actor`` (default alice)."""
        body = orjson.dumps(activity)
        signer = actor or self.alice
        headers = signer.signed_post(BASE + path, body, **sign)
        return await self.http.post(path, content=body, headers=headers)

    async def items(self) -> list[InboxItem]:
        """Every stored inbox item."""
        async with self.app.state.db.session() as db:
            return list(await db.scalars(select(InboxItem).order_by(InboxItem.id)))


@pytest.fixture
async def env(tmp_path: Path, db_target: Any) -> AsyncIterator[Env]:
    router = RoutingTransport()
    app = await make_app(
        tmp_path, 8001, router, database_url=db_target.url,
        database_schema=db_target.schema, max_body_bytes=MAX_BODY,
    )
    servers = [FakeServer(h) for h in ("mastodon.example", "lemmy.example", "mobilizon.example")]
    for server in servers:
        router.add(server.host, server)
    async with app.test_app():
        async with app.state.db.session() as db:
            await add_local_person(db, app.state.settings, "bob")
        alice = FakeActor(servers[0], "/users/alice")
        async with httpx.AsyncClient(transport=router, base_url=BASE) as http:
            yield Env(app, router, http, *servers, alice)
    await router.close()


def follow_bob(actor: FakeActor) -> dict[str, Any]:
    return actor.activity("Follow", f"{BASE}/users/bob")


# ---------------------------------------------------------------- accepted


@pytest.mark.parametrize("flavour", ["mastodon", "lemmy", "mobilizon"])
async def test_signed_requests_of_each_server_are_accepted(env: Env, flavour: str) -> None:
    server = {"mastodon": env.masto, "lemmy": env.lemmy, "mobilizon": env.mobilizon}[flavour]
    path = {"mastodon": "/users/carol", "lemmy": "/u/carol", "mobilizon": "/@carol"}[flavour]
    actor = FakeActor(server, path, flavour=flavour)
    activity = follow_bob(actor)
    response = await env.post("/users/bob/inbox", activity, actor)
    assert response.status_code == 202, response.text
    [item] = await env.items()
    assert item.ap_id == activity["id"]
    assert item.type == "Follow"
    assert item.actor_ap_id == actor.id
    assert item.signed_by == actor.id
    assert item.state == "pending"
    # The key fetch stored the sender, with its HTML sanitised.
    async with env.app.state.db.session() as db:
        stored = await db.scalar(select(Actor).where(Actor.ap_id == actor.id))
    assert stored is not None and not stored.local
    assert stored.key_id == actor.key_id
    assert "<script>" not in stored.bio_html
    assert stored.shared_inbox == server.url("/inbox")


async def test_shared_inbox_and_instance_inbox_accept(env: Env) -> None:
    for path in ("/inbox", "/actor/inbox"):
        response = await env.post(path, follow_bob(env.alice))
        assert response.status_code == 202, response.text
    assert len(await env.items()) == 2


async def test_redelivery_is_stored_once(env: Env) -> None:
    activity = follow_bob(env.alice)
    for _ in range(3):
        response = await env.post("/inbox", activity)
        assert response.status_code == 202
    assert [i.ap_id for i in await env.items()] == [activity["id"]]


async def test_cached_key_needs_no_second_fetch(env: Env) -> None:
    await env.post("/inbox", follow_bob(env.alice))
    fetches = len(env.masto.requests)
    await env.post("/inbox", follow_bob(env.alice))
    assert len(env.masto.requests) == fetches


async def test_unknown_type_is_stored_then_ignored(env: Env) -> None:
    activity = env.alice.activity("Frobnicate", {"id": env.masto.url("/things/1")}, to=[PUBLIC])
    response = await env.post("/inbox", activity)
    assert response.status_code == 202
    assert await InboxWorker(env.app.state).run_once() == 1
    [item] = await env.items()
    assert item.state == "ignored"
    assert "no handler" in (item.error or "")


# ---------------------------------------------------------------- refused before the signature


async def test_too_large_body_is_413(env: Env) -> None:
    activity = follow_bob(env.alice)
    activity["padding"] = "x" * MAX_BODY
    response = await env.post("/inbox", activity)
    assert response.status_code == 413
    assert await env.items() == []


async def test_too_large_chunked_body_is_413(env: Env) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(30):
            yield b"x" * 1000

    response = await env.http.post("/inbox", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'"text"', b'{"type": "Follow"}'], ids=str
)
async def test_bad_json_is_400(env: Env, body: bytes) -> None:
    headers = env.alice.signed_post(BASE + "/inbox", body)
    response = await env.http.post("/inbox", content=body, headers=headers)
    assert response.status_code == 400
    assert "error" in response.json()


async def test_blocked_domain_is_403(env: Env) -> None:
    async with env.app.state.db.session() as db:
        db.add(DomainBlock(domain="mastodon.example", reason="spam"))
    response = await env.post("/inbox", follow_bob(env.alice))
    assert response.status_code == 403
    # Nothing was fetched for a blocked sender.
    assert env.masto.requests == []


async def test_blocked_parent_domain_covers_subdomains(env: Env) -> None:
    sub = FakeServer("social.blocked.example")
    env.router.add(sub.host, sub)
    actor = FakeActor(sub, "/users/x")
    async with env.app.state.db.session() as db:
        db.add(DomainBlock(domain="blocked.example"))
    response = await env.post("/inbox", follow_bob(actor), actor)
    assert response.status_code == 403


# ---------------------------------------------------------------- signatures


async def test_unsigned_is_401(env: Env) -> None:
    body = orjson.dumps(follow_bob(env.alice))
    response = await env.http.post(
        "/inbox", content=body, headers={"Content-Type": "application/activity+json"}
    )
    assert response.status_code == 401
    assert "signature" in response.json()["error"]


async def test_garbage_signature_is_401(env: Env) -> None:
    body = orjson.dumps(follow_bob(env.alice))
    headers = env.alice.signed_post(BASE + "/inbox", body)
    headers["Signature"] = headers["Signature"].rsplit('signature="', 1)[0] + 'signature="AAAA"'
    response = await env.http.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401


async def test_tampered_body_is_401(env: Env) -> None:
    activity = follow_bob(env.alice)
    headers = env.alice.signed_post(BASE + "/inbox", orjson.dumps(activity))
    activity["object"] = f"{BASE}/users/somebody-else"
    response = await env.http.post("/inbox", content=orjson.dumps(activity), headers=headers)
    assert response.status_code == 401
    assert "Digest" in response.json()["error"]


async def test_tampered_digest_is_401(env: Env) -> None:
    activity = follow_bob(env.alice)
    body = orjson.dumps(activity)
    headers = env.alice.signed_post(BASE + "/inbox", orjson.dumps({"other": 1}))
    # Digest matches the body sent, but the signature covered another digest.
    from activitypub.digest import digest_header

    headers["Digest"] = digest_header(body)
    response = await env.http.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401


async def test_signature_for_another_path_is_401(env: Env) -> None:
    activity = follow_bob(env.alice)
    body = orjson.dumps(activity)
    headers = env.alice.signed_post(BASE + "/users/bob/inbox", body)
    response = await env.http.post("/inbox", content=body, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("hours", [-2, 2])
async def test_stale_or_future_date_is_401(env: Env, hours: int) -> None:
    when = datetime.now(UTC) + timedelta(hours=hours)
    response = await env.post("/inbox", follow_bob(env.alice), now=when)
    assert response.status_code == 401
    assert "Date" in response.json()["error"]


async def test_wrong_key_is_401(env: Env) -> None:
    other_private, _ = generate_rsa_keypair()
    response = await env.post("/inbox", follow_bob(env.alice), key_pem=other_private)
    assert response.status_code == 401
    assert await env.items() == []


async def test_rotated_key_is_refetched(env: Env) -> None:
    assert (await env.post("/inbox", follow_bob(env.alice))).status_code == 202
    env.alice.private_pem, env.alice.public_pem = generate_rsa_keypair()
    env.alice.publish()
    assert (await env.post("/inbox", follow_bob(env.alice))).status_code == 202


async def test_unknown_key_is_401(env: Env) -> None:
    ghost = FakeActor(env.masto, "/users/ghost")
    del env.masto.docs["/users/ghost"]
    response = await env.post("/inbox", follow_bob(ghost), ghost)
    assert response.status_code == 401


# ---------------------------------------------------------------- origin


async def test_activity_id_on_another_host_is_403(env: Env) -> None:
    activity = follow_bob(env.alice)
    activity["id"] = env.lemmy.url("/activities/forged")
    response = await env.post("/inbox", activity)
    assert response.status_code == 403
    assert await env.items() == []


async def test_key_owner_must_be_the_actor(env: Env) -> None:
    mallory = FakeActor(env.masto, "/users/mallory")
    activity = follow_bob(env.alice)  # claims to be alice...
    response = await env.post("/inbox", activity, mallory)  # ...signed by mallory
    assert response.status_code == 401
    assert "mallory" in response.json()["error"]


async def test_actor_on_another_host_than_key_is_refused(env: Env) -> None:
    lemmy_user = FakeActor(env.lemmy, "/u/eve", flavour="lemmy")
    activity = env.alice.activity("Follow", f"{BASE}/users/bob")
    activity["actor"] = lemmy_user.id
    activity["id"] = env.lemmy.url("/activities/1")
    response = await env.post("/inbox", activity)  # signed by alice on mastodon.example
    assert response.status_code == 401


async def test_activity_of_a_local_actor_is_refused(env: Env) -> None:
    """Our own activities never come through an inbox: one naming bob is forged."""
    activity = env.alice.activity("Follow", env.alice.id)
    activity["actor"] = f"{BASE}/users/bob"
    activity["id"] = f"{BASE}/activities/forged"
    for path in ("/inbox", "/users/bob/inbox"):
        response = await env.post(path, activity)
        assert response.status_code == 403
        assert "actor is local" in response.json()["error"]
    assert await env.items() == []


# ---------------------------------------------------------------- Delete floods


async def test_delete_of_unknown_actor_is_dropped_without_fetching(env: Env) -> None:
    gone = FakeActor(env.masto, "/users/gone")
    env.masto.gone.add("/users/gone")
    activity = gone.activity("Delete", gone.id, to=[PUBLIC])
    response = await env.post("/inbox", activity, gone)
    assert response.status_code == 202
    assert await env.items() == []
    assert env.masto.requests == []


async def test_delete_signed_by_a_gone_key_is_202_and_dropped(env: Env) -> None:
    gone = FakeActor(env.masto, "/users/gone")
    env.masto.gone.add("/users/gone")
    activity = gone.activity("Delete", gone.server.url("/users/gone/statuses/1"), to=[PUBLIC])
    response = await env.post("/inbox", activity, gone)
    assert response.status_code == 202
    assert await env.items() == []


async def test_other_activity_signed_by_a_gone_key_is_401(env: Env) -> None:
    gone = FakeActor(env.masto, "/users/gone")
    env.masto.gone.add("/users/gone")
    response = await env.post("/inbox", follow_bob(gone), gone)
    assert response.status_code == 401


async def test_unknown_person_inbox_is_404(env: Env) -> None:
    response = await env.post("/users/nobody/inbox", follow_bob(env.alice))
    assert response.status_code == 404


# ---------------------------------------------------------------- reading the inbox (C2S)


async def test_owner_reads_inbox_with_token(env: Env) -> None:
    state = env.app.state
    async with state.db.session() as db:
        for name in ("bob2", "carla"):
            await create_user(
                db, state.settings, username=name, email=f"{name}@example.org",
                password="another long passphrase",
            )
        bob_token = await create_token(db, "bob2")
        carla_token = await create_token(db, "carla")
    async with state.db.session() as db:
        carla = await db.scalar(select(Actor).where(Actor.username == "carla"))
        assert carla is not None
        for n in range(25):
            await publish(db, state.settings, carla, {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": new_activity_id(state.settings),
                "type": "Create",
                "actor": carla.ap_id,
                "to": [f"{BASE}/users/bob2"],
                "object": {"type": "Note", "content": f"note {n}"},
            })
    assert (await env.http.get("/users/bob2/inbox")).status_code == 401
    bad = await env.http.get("/users/bob2/inbox", headers={"Authorization": "Bearer fpt_nope"})
    assert bad.status_code == 401
    other = await env.http.get(
        "/users/bob2/inbox", headers={"Authorization": f"Bearer {carla_token}"}
    )
    assert other.status_code == 403
    auth = {"Authorization": f"Bearer {bob_token}"}
    collection = await env.http.get("/users/bob2/inbox", headers=auth)
    assert collection.status_code == 200
    assert collection.headers["content-type"].startswith("application/activity+json")
    doc = collection.json()
    assert doc["type"] == "OrderedCollection" and doc["totalItems"] == 25
    page1 = (await env.http.get(doc["first"], headers=auth)).json()
    assert len(page1["orderedItems"]) == 20
    assert page1["orderedItems"][0]["object"]["content"] == "note 24"  # newest first
    page2 = (await env.http.get(page1["next"], headers=auth)).json()
    assert len(page2["orderedItems"]) == 5 and "next" not in page2
    async with state.db.session() as db:
        entries = await db.scalar(select(func.count()).select_from(InboxEntry))
    assert entries == 25
    assert await env.items() == []  # a local recipient gets its entry, nothing to process
