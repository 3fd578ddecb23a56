"""The delivery worker against real loopback inboxes: every outcome, backoff and pauses.

One instance (SQLite and PostgreSQL) publishes as ``alice`` to remote followers whose inboxes
live on :class:`sinks.Sink` servers; ``DeliveryWorker.run_once`` sends for real over TCP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from harness import add_follow, add_local_person, add_remote_actor, make_app, note_activity
from routing import RoutingTransport
from sinks import Sink, SinkRequest
from sqlalchemy import select, update

from activitypub.http_signatures import verify_request
from activitypub.sigbase import PublicKeyInfo
from fedi.cli.queue_commands import queue_summary, retry_now
from fedi.federation.outgoing.publish import publish
from fedi.state import FediApp
from fedi.workers.delivery import (
    GIVE_UP_AFTER,
    PAUSE_AFTER_FAILURES,
    DeliveryWorker,
    backoff,
    pause_length,
)
from models import Actor, Delivery, DomainBlock, DomainHealth, utcnow


@dataclass
class Env:
    """An instance with local ``alice`` and a helper to publish to followers."""

    app: FediApp
    alice: Actor

    async def follower(self, name: str, inbox: str, shared: str | None = None) -> Actor:
        async with self.app.state.db.session() as db:
            actor = await add_remote_actor(db, name, inbox, shared_inbox=shared)
            await add_follow(db, actor, self.alice)
        return actor

    async def post(self, text: str = "hello") -> dict[str, Any]:
        activity = note_activity(self.app.state.settings, self.alice, text)
        async with self.app.state.db.session() as db:
            await publish(db, self.app.state.settings, self.alice, activity)
        return activity

    async def deliveries(self) -> list[Delivery]:
        async with self.app.state.db.session() as db:
            return list(await db.scalars(select(Delivery).order_by(Delivery.id)))

    async def run(self, **kwargs: Any) -> int:
        return await DeliveryWorker(self.app.state, **kwargs).run_once()

    async def make_due(self) -> None:
        """Pretend the backoff has passed."""
        async with self.app.state.db.session() as db:
            await db.execute(update(Delivery).values(next_try_at=utcnow()))


@pytest.fixture
async def env(tmp_path: Path, db_target: Any) -> AsyncIterator[Env]:
    router = RoutingTransport()
    app = await make_app(
        tmp_path, 8001, router, database_url=db_target.url, database_schema=db_target.schema
    )
    async with app.test_app():
        async with app.state.db.session() as db:
            alice = await add_local_person(db, app.state.settings, "alice")
        yield Env(app, alice)
    await router.close()


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    yield server
    await server.close()


def answer(status: int, **headers: str) -> Any:
    def respond(_request: SinkRequest) -> tuple[int, dict[str, str]]:
        return status, dict(headers)

    return respond


# ---------------------------------------------------------------- success, signing, collapsing


async def test_delivered_signed_and_verifiable(env: Env, sink: Sink) -> None:
    await env.follower("bea", sink.url("/users/bea/inbox"))
    activity = await env.post()
    assert await env.run() == 1
    [row] = await env.deliveries()
    assert row.state == "delivered" and row.last_status == 202 and row.delivered_at
    [request] = sink.requests
    assert request.activity_id == activity["id"]
    assert request.headers["content-type"].startswith("application/activity+json")

    async def resolver(key_id: str, refresh: bool) -> PublicKeyInfo | None:
        assert key_id == env.alice.key_id
        return PublicKeyInfo(key_id, env.alice.ap_id, env.alice.public_key_pem or "")

    verified = await verify_request(
        "POST", sink.url(request.path), request.headers, request.body, resolver
    )
    assert verified.owner == env.alice.ap_id


async def test_followers_collapse_onto_shared_inboxes(env: Env, sink: Sink) -> None:
    shared = sink.url("/inbox")
    for name in ("a1", "a2", "a3"):
        await env.follower(name, sink.url(f"/users/{name}/inbox"), shared)
    for name in ("p1", "p2"):
        await env.follower(name, sink.url(f"/users/{name}/inbox"))
    activity = await env.post()
    rows = await env.deliveries()
    assert sorted(r.inbox_url for r in rows) == sorted(
        [shared, sink.url("/users/p1/inbox"), sink.url("/users/p2/inbox")]
    )
    assert {r.domain for r in rows} == {sink.host}
    await env.run()
    assert {path: c[activity["id"]] for path, c in sink.by_inbox.items()} == {
        "/inbox": 1, "/users/p1/inbox": 1, "/users/p2/inbox": 1,
    }


async def test_bto_bcc_are_delivered_but_not_sent(env: Env, sink: Sink) -> None:
    await env.follower("fan", sink.url("/users/fan/inbox"))
    async with env.app.state.db.session() as db:
        secret = await add_remote_actor(db, "sec", sink.url("/users/sec/inbox"))
    activity = note_activity(env.app.state.settings, env.alice)
    activity["bcc"] = [secret.ap_id]
    async with env.app.state.db.session() as db:
        outbox = await publish(db, env.app.state.settings, env.alice, activity)
    assert "bcc" not in outbox.payload
    await env.run()
    # Compare the parsed keys, not the raw bytes: a random hex id may well contain "bcc".
    sent = [orjson.loads(r.body) for r in sink.requests]
    assert sent and all("bcc" not in body and "bcc" not in body["object"] for body in sent)
    assert sink.by_inbox["/users/sec/inbox"][activity["id"]] == 1
    assert sink.by_inbox["/users/fan/inbox"][activity["id"]] == 1


async def test_gone_and_blocked_recipients_are_skipped(env: Env, sink: Sink) -> None:
    gone = await env.follower("gone", sink.url("/users/gone/inbox"))
    await env.follower("ok", sink.url("/users/ok/inbox"))
    async with env.app.state.db.session() as db:
        await db.execute(update(Actor).where(Actor.id == gone.id).values(gone_at=utcnow()))
        blocked_sink_actor = await add_remote_actor(db, "bad", "http://blocked.example/inbox")
        await add_follow(db, blocked_sink_actor, env.alice)
        db.add(DomainBlock(domain="blocked.example"))
    await env.post()
    assert [r.inbox_url for r in await env.deliveries()] == [sink.url("/users/ok/inbox")]


# ---------------------------------------------------------------- failures


async def test_410_marks_the_actor_gone(env: Env, sink: Sink) -> None:
    sink.respond = answer(410)
    actor = await env.follower("old", sink.url("/users/old/inbox"))
    await env.post()
    await env.run()
    [row] = await env.deliveries()
    assert row.state == "gone" and row.last_status == 410
    async with env.app.state.db.session() as db:
        refreshed = await db.get(Actor, actor.id)
        assert refreshed is not None and refreshed.gone_at is not None
    await env.post("second")
    assert len(await env.deliveries()) == 1  # nothing queued for a gone actor


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_final_4xx_fails_without_retry(env: Env, sink: Sink, status: int) -> None:
    sink.respond = answer(status)
    await env.follower("x", sink.url("/users/x/inbox"))
    await env.post()
    await env.run()
    [row] = await env.deliveries()
    assert (row.state, row.last_status, row.attempts) == ("failed", status, 1)
    assert row.last_error == f"HTTP {status}"
    await env.make_due()
    assert await env.run() == 0


@pytest.mark.parametrize("status", [500, 502, 401, 408])
async def test_transient_errors_retry_with_backoff(env: Env, sink: Sink, status: int) -> None:
    sink.respond = answer(status)
    await env.follower("x", sink.url("/users/x/inbox"))
    await env.post()
    before = utcnow()
    await env.run()
    [row] = await env.deliveries()
    assert (row.state, row.last_status, row.attempts) == ("pending", status, 1)
    assert row.claimed_until is None
    wait = row.next_try_at - before
    assert timedelta(seconds=23) < wait < timedelta(seconds=37)  # 30 s ± 20 %
    assert await env.run() == 0  # not due yet
    await env.make_due()
    before = utcnow()
    await env.run()
    [row] = await env.deliveries()
    assert row.attempts == 2
    assert timedelta(seconds=47) < row.next_try_at - before < timedelta(seconds=73)
    sink.respond = None
    await env.make_due()
    await env.run()
    [row] = await env.deliveries()
    assert row.state == "delivered" and row.attempts == 3


async def test_429_honours_retry_after(env: Env, sink: Sink) -> None:
    sink.respond = answer(429, **{"Retry-After": "3600"})
    await env.follower("x", sink.url("/users/x/inbox"))
    await env.post()
    before = utcnow()
    await env.run()
    [row] = await env.deliveries()
    assert row.state == "pending" and row.last_status == 429
    assert row.next_try_at - before >= timedelta(seconds=3600)


async def test_connection_refused_is_retried(env: Env) -> None:
    closed = await Sink().start()
    url = closed.url("/users/x/inbox")
    await closed.close()
    await env.follower("x", url)
    await env.post()
    await env.run()
    [row] = await env.deliveries()
    assert row.state == "pending" and row.attempts == 1 and row.last_status is None
    assert "Connect" in (row.last_error or "")


async def test_gives_up_after_three_days(env: Env, sink: Sink) -> None:
    sink.respond = answer(503)
    await env.follower("x", sink.url("/users/x/inbox"))
    await env.post()
    async with env.app.state.db.session() as db:
        await db.execute(
            update(Delivery).values(created_at=utcnow() - GIVE_UP_AFTER - timedelta(minutes=1))
        )
    await env.run()
    [row] = await env.deliveries()
    assert row.state == "gave_up" and row.last_status == 503


async def test_domain_pause_and_queue_retry(env: Env, sink: Sink) -> None:
    sink.respond = answer(500)
    for n in range(PAUSE_AFTER_FAILURES + 2):
        await env.follower(f"f{n}", sink.url(f"/users/f{n}/inbox"))
    await env.post()
    await env.run(concurrency=1)
    async with env.app.state.db.session() as db:
        health = await db.get(DomainHealth, sink.host)
        assert health is not None
        assert health.pause_level == 1
        assert health.paused_until is not None
        paused_for = health.paused_until - utcnow()
        assert timedelta(minutes=9) < paused_for <= timedelta(minutes=10)
    # While paused, due rows of the domain are skipped and no attempt is counted.
    await env.make_due()
    attempts = [r.attempts for r in await env.deliveries()]
    assert await env.run() == 0
    assert [r.attempts for r in await env.deliveries()] == attempts
    async with env.app.state.db.session() as db:
        summary = await queue_summary(db, utcnow())
    assert summary.domains[0][0] == sink.host and summary.domains[0][5] != "-"
    # The operator lifts the pause; the server is back; everything goes out.
    sink.respond = None
    async with env.app.state.db.session() as db:
        _moved, lifted = await retry_now(db, sink.host, utcnow())
    assert lifted == 1
    assert await env.run() == PAUSE_AFTER_FAILURES + 2
    assert {r.state for r in await env.deliveries()} == {"delivered"}
    async with env.app.state.db.session() as db:
        health = await db.get(DomainHealth, sink.host)
        assert health is not None and health.paused_until is None
        assert health.consecutive_failures == 0 and health.pause_level == 0


async def test_success_resets_domain_failures(env: Env, sink: Sink) -> None:
    calls = {"n": 0}

    def flaky(_request: SinkRequest) -> tuple[int, dict[str, str]]:
        calls["n"] += 1
        return (500 if calls["n"] <= 3 else 202), {}

    sink.respond = flaky
    for n in range(3):
        await env.follower(f"f{n}", sink.url(f"/users/f{n}/inbox"))
    await env.post()
    await env.run(concurrency=1)
    async with env.app.state.db.session() as db:
        assert (await db.get(DomainHealth, sink.host)).consecutive_failures == 3  # type: ignore[union-attr]
    await env.make_due()
    await env.run()
    async with env.app.state.db.session() as db:
        health = await db.get(DomainHealth, sink.host)
        assert health is not None and health.consecutive_failures == 0
        assert health.last_success_at is not None


# ---------------------------------------------------------------- concurrency


async def test_concurrent_workers_never_double_send(env: Env, sink: Sink) -> None:
    sink.delay = 0.005
    for n in range(60):
        await env.follower(f"f{n}", sink.url(f"/users/f{n}/inbox"))
    activity = await env.post()
    workers = [DeliveryWorker(env.app.state, concurrency=4) for _ in range(3)]
    import asyncio

    totals = await asyncio.gather(*(w.run_once(limit=25) for w in workers))
    while sum(totals):
        totals = await asyncio.gather(*(w.run_once(limit=25) for w in workers))
    assert len(sink.by_inbox) == 60
    assert all(counter[activity["id"]] == 1 for counter in sink.by_inbox.values())
    assert len(sink.requests) == 60


# ---------------------------------------------------------------- backoff arithmetic


def test_backoff_grows_and_is_capped() -> None:
    for _ in range(50):
        assert timedelta(seconds=24) <= backoff(1) <= timedelta(seconds=36)
        assert timedelta(seconds=96) <= backoff(3) <= timedelta(seconds=144)
        assert backoff(40) <= timedelta(hours=6) * 1.2
    assert backoff(1, retry_after=600) >= timedelta(seconds=600)


def test_pause_doubles_up_to_twelve_hours() -> None:
    assert pause_length(1) == timedelta(minutes=10)
    assert pause_length(2) == timedelta(minutes=20)
    assert pause_length(3) == timedelta(minutes=40)
    assert pause_length(30) == timedelta(hours=12)
