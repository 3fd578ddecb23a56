"""SIGKILL a real ``fedi serve`` while it delivers to 1,200 followers; nothing may be lost.

1,000 followers have only personal inboxes (spread over 16 loopback sink servers, one
delivery row each) and 200 more share the shared inboxes of 4 other sinks (collapsed into 4
rows). The instance is killed mid-way, restarted, and every inbox must receive the activity.
A row is marked delivered only after a 2xx, so a POST answered just before the kill may be
sent again after the restart: receivers deduplicate by activity id. The test therefore
asserts every inbox got the activity at least once and that duplicates stay within what
was in flight at the moment of the kill.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from harness import add_follow, add_local_person, add_remote_actor, note_activity
from sinks import Sink
from sqlalchemy import func, select

from fedi.db import Database
from fedi.federation.outgoing.publish import publish
from fedi.settings import Settings
from models import Delivery

pytestmark = pytest.mark.live

PERSONAL = 1000
SHARED = 200
CONCURRENCY = 8


async def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_sigkill_during_delivery_loses_nothing(live_server_factory: Any) -> None:
    personal_sinks = [await Sink(delay=0.02).start() for _ in range(16)]
    shared_sinks = [await Sink(delay=0.02).start() for _ in range(4)]
    sinks = personal_sinks + shared_sinks
    try:
        server = await asyncio.to_thread(
            live_server_factory,
            FEDI_WORKER_LEASE_SECONDS="3",
            FEDI_DELIVERY_CONCURRENCY=str(CONCURRENCY),
        )
        settings = Settings.from_env(server.env)
        db = Database(settings.database_url)
        expected: set[tuple[int, str]] = set()
        try:
            async with db.session() as session:
                alice = await add_local_person(session, settings, "alice")
                for n in range(PERSONAL):
                    sink = personal_sinks[n % len(personal_sinks)]
                    path = f"/users/p{n}/inbox"
                    actor = await add_remote_actor(session, f"p{n}", sink.url(path))
                    await add_follow(session, actor, alice)
                    expected.add((sinks.index(sink), path))
                for n in range(SHARED):
                    sink = shared_sinks[n % len(shared_sinks)]
                    actor = await add_remote_actor(
                        session, f"s{n}", sink.url(f"/users/s{n}/inbox"),
                        shared_inbox=sink.url("/inbox"),
                    )
                    await add_follow(session, actor, alice)
                    expected.add((sinks.index(sink), "/inbox"))
                activity = note_activity(settings, alice, "the big announcement")
                await publish(session, settings, alice, activity)
            async with db.session() as session:
                rows = await session.scalar(select(func.count()).select_from(Delivery))
            assert rows == PERSONAL + len(shared_sinks)  # 200 followers collapsed into 4 rows
            assert len(expected) == rows

            activity_id = activity["id"]

            def received() -> int:
                return sum(s.count(activity_id) for s in sinks)

            # The server's worker picks the rows up by itself (1 s poll); kill it mid-way.
            await wait_for(lambda: received() >= 300, 60, "deliveries to start")
            server.kill()
            at_kill = received()
            assert at_kill < rows, "the kill came too late to prove anything"
            async with db.session() as session:
                done_at_kill = await session.scalar(
                    select(func.count()).where(Delivery.state == "delivered")
                )
            assert done_at_kill is not None and done_at_kill < rows

            await asyncio.to_thread(server.start)

            def arrived() -> set[tuple[int, str]]:
                return {
                    (i, path)
                    for i, sink in enumerate(sinks)
                    for path, counter in sink.by_inbox.items()
                    if counter[activity_id] >= 1
                }

            await wait_for(lambda: arrived() == expected, 120, "every inbox to receive it")
            deadline = time.monotonic() + 30
            while True:
                async with db.session() as session:
                    delivered = await session.scalar(
                        select(func.count()).where(Delivery.state == "delivered")
                    )
                if delivered == rows or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert delivered == rows, "every row ends up recorded as delivered"
        finally:
            await db.dispose()

        total = received()
        duplicates = total - rows
        print(
            f"\nkill test: {rows} inboxes, {at_kill} received before SIGKILL "
            f"({done_at_kill} recorded delivered), {total} POSTs in all, {duplicates} duplicates"
        )
        assert arrived() == expected
        # Only POSTs in flight (answered but not yet recorded) at the kill can repeat.
        assert 0 <= duplicates <= 4 * CONCURRENCY
    finally:
        for sink in sinks:
            await sink.close()
