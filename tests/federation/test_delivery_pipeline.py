"""The delivery worker's pipeline: per-host cap, no waiting for the slowest inbox, clean stop.

Real loopback inboxes (a small gate server that can hold answers back and counts how many
requests are open at once) and a real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from harness import add_follow, add_local_person, add_remote_actor, make_app, note_activity
from routing import RoutingTransport
from sqlalchemy import select

from fedi.db import Database
from fedi.federation.outgoing.publish import publish
from fedi.state import FediApp
from fedi.workers.delivery import PER_HOST, DeliveryWorker
from fedi.workers.watch import watch_new_rows
from models import Actor, Delivery


@dataclass
class Gate:
    """A loopback inbox server answering 202 after ``delay``, or once a held path is released."""

    delay: float = 0.0
    held: dict[str, asyncio.Event] = field(default_factory=dict)
    open_now: int = 0
    max_open: int = 0
    arrived: list[tuple[str, str]] = field(default_factory=list)  # (path, activity id)
    answered: list[str] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> Gate:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        for event in self.held.values():
            event.set()
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                path = head.split(" ", 2)[1]
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.arrived.append((path, orjson.loads(body)["id"]))
                self.open_now += 1
                self.max_open = max(self.max_open, self.open_now)
                try:
                    if path in self.held:
                        await self.held[path].wait()
                    elif self.delay:
                        await asyncio.sleep(self.delay)
                finally:
                    self.open_now -= 1
                self.answered.append(path)
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Env:
    app: FediApp
    alice: Actor
    bob: Actor

    async def follow(self, followed: Actor, name: str, inbox: str) -> None:
        async with self.app.state.db.session() as db:
            actor = await add_remote_actor(db, name, inbox)
            await add_follow(db, actor, followed)

    async def post(self, author: Actor) -> str:
        activity = note_activity(self.app.state.settings, author)
        async with self.app.state.db.session() as db:
            await publish(db, self.app.state.settings, author, activity)
        return str(activity["id"])

    async def states(self) -> dict[str, str]:
        async with self.app.state.db.session() as db:
            rows = await db.execute(select(Delivery.inbox_url, Delivery.state))
            return {url: state for url, state in rows}


@pytest.fixture
async def env(tmp_path: Path, db_target: Any) -> AsyncIterator[Env]:
    router = RoutingTransport()
    app = await make_app(
        tmp_path, 8001, router, database_url=db_target.url, database_schema=db_target.schema
    )
    async with app.test_app():
        async with app.state.db.session() as db:
            alice = await add_local_person(db, app.state.settings, "alice")
            bob = await add_local_person(db, app.state.settings, "bob")
        yield Env(app, alice, bob)
    await router.close()


@pytest.fixture
async def gates() -> AsyncIterator[Callable[..., Awaitable[Gate]]]:
    started: list[Gate] = []

    async def start(**kwargs: Any) -> Gate:
        gate = await Gate(**kwargs).start()
        started.append(gate)
        return gate

    yield start
    for gate in started:
        await gate.close()


async def until(predicate: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_at_most_per_host_posts_to_one_server(env: Env, gates: Any) -> None:
    gate = await gates(delay=0.2)
    for n in range(10):
        await env.follow(env.alice, f"p{n}", gate.url(f"/users/p{n}/inbox"))
    await env.post(env.alice)
    assert await DeliveryWorker(env.app.state, concurrency=16).run_once() == 10
    assert len(gate.answered) == 10
    # 16 senders were free, but one server never had more than PER_HOST requests open.
    assert gate.max_open == PER_HOST
    assert set((await env.states()).values()) == {"delivered"}


async def test_new_rows_do_not_wait_for_the_slowest_inbox(env: Env, gates: Any) -> None:
    slow, fast = await gates(), await gates()
    slow.held["/users/s/inbox"] = asyncio.Event()
    await env.follow(env.alice, "s", slow.url("/users/s/inbox"))
    await env.follow(env.bob, "f", fast.url("/users/f/inbox"))
    await env.post(env.alice)
    run = asyncio.create_task(DeliveryWorker(env.app.state).run_once())
    try:
        await until(lambda: slow.open_now == 1, "the slow POST to be in flight")
        # Committed while the first run still waits for the slow inbox: it goes out now.
        bobs = await env.post(env.bob)
        await until(lambda: fast.answered == ["/users/f/inbox"], "the fast delivery")
        assert fast.arrived == [("/users/f/inbox", bobs)]
        assert not run.done() and slow.answered == []
        slow.held["/users/s/inbox"].set()
        assert await asyncio.wait_for(run, 10) == 2
    finally:
        run.cancel()
    assert set((await env.states()).values()) == {"delivered"}


async def test_a_stopped_run_records_what_was_answered(env: Env, gates: Any) -> None:
    gate = await gates()
    gate.held["/users/held/inbox"] = asyncio.Event()
    await env.follow(env.alice, "held", gate.url("/users/held/inbox"))
    for n in range(3):
        await env.follow(env.alice, f"ok{n}", gate.url(f"/users/ok{n}/inbox"))
    await env.post(env.alice)
    worker = DeliveryWorker(env.app.state)
    run = asyncio.create_task(worker.run_once())
    # The worker has read the three answers (the server logs a reply before it arrives).
    await until(lambda: worker.answered == 3 and gate.open_now == 1, "three answers")
    run.cancel()  # what the runner does when the process stops
    with contextlib.suppress(asyncio.CancelledError):
        await run
    states = await env.states()
    assert states.pop(gate.url("/users/held/inbox")) == "pending"
    assert set(states.values()) == {"delivered"} and len(states) == 3
    async with env.app.state.db.session() as db:
        held = await db.scalar(
            select(Delivery).where(Delivery.inbox_url == gate.url("/users/held/inbox"))
        )
    # The unanswered row keeps its lease: it is sent again once the lease runs out.
    assert held is not None and held.claimed_until is not None and held.attempts == 0


async def test_one_inbox_gets_activities_one_at_a_time_in_order(env: Env, gates: Any) -> None:
    gate = await gates(delay=0.05)
    async with env.app.state.db.session() as db:
        for n in range(3):  # three followers on one server, collapsed onto its shared inbox
            actor = await add_remote_actor(
                db, f"m{n}", gate.url(f"/users/m{n}/inbox"), shared_inbox=gate.url("/inbox")
            )
            await add_follow(db, actor, env.alice)
    published = [await env.post(env.alice) for _ in range(6)]
    assert await DeliveryWorker(env.app.state, concurrency=16).run_once() == 6
    # A Delete must never overtake its Create: the shared inbox saw them in publish order,
    # each POST only after the previous one was answered.
    assert gate.arrived == [("/inbox", activity_id) for activity_id in published]
    assert gate.max_open == 1


async def test_rows_queued_by_another_process_wake_the_worker(env: Env, gates: Any) -> None:
    gate = await gates()
    await env.follow(env.alice, "w", gate.url("/users/w/inbox"))
    wake = asyncio.Event()
    watch = asyncio.create_task(watch_new_rows(env.app.state, wake, interval=0.02, model=Delivery))
    try:
        await asyncio.sleep(0.2)
        assert not wake.is_set()
        # Another process (fedi serve beside fedi worker) publishes on its own connection.
        settings = env.app.state.settings
        other = Database(settings.database_url, schema=settings.database_schema)
        try:
            async with other.session() as db:
                await publish(db, settings, env.alice, note_activity(settings, env.alice))
        finally:
            await other.dispose()
        await asyncio.wait_for(wake.wait(), 5)
        assert await DeliveryWorker(env.app.state).run_once() == 1
        # Rows that merely stay due (here: delivered already) never wake it again.
        wake.clear()
        await asyncio.sleep(0.2)
        assert not wake.is_set()
    finally:
        watch.cancel()
