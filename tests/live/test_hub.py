"""The live hub: messages reach subscribers only after their transaction commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fedi.live.hub import LiveMessage, hub_of, queue
from models import Actor, Notification


async def _some_person(app: Any) -> Actor:
    from tests.federation.harness import add_local_person

    async with app.state.db.session() as db:
        return await add_local_person(db, app.state.settings, "hubperson")


async def test_queued_messages_arrive_after_commit_only(app: Any) -> None:
    hub = hub_of(app.state)
    async with hub.subscribe(["initiative:1"]) as sub:
        async with app.state.db.sessions() as db:
            queue(db, LiveMessage("initiative:1", "comment", {"id": 7}))
            assert await sub.get(within=0.05) is None  # not committed yet
            await db.commit()
        message = await sub.get(within=1)
        assert message == LiveMessage("initiative:1", "comment", {"id": 7})


async def test_rolled_back_messages_are_never_told(app: Any) -> None:
    hub = hub_of(app.state)
    async with hub.subscribe(["initiative:2"]) as sub:
        async with app.state.db.sessions() as db:
            queue(db, LiveMessage("initiative:2", "comment", {"id": 1}))
            await db.rollback()
        async with app.state.db.sessions() as db:
            queue(db, LiveMessage("initiative:2", "comment", {"id": 2}))
            await db.commit()
        message = await sub.get(within=1)
        assert message is not None and message.data == {"id": 2}


async def test_other_topics_are_not_received(app: Any) -> None:
    hub = hub_of(app.state)
    async with hub.subscribe(["tribe:5"]) as sub:
        async with app.state.db.session() as db:
            queue(db, LiveMessage("tribe:6", "member", {}))
        assert await sub.get(within=0.1) is None
    assert hub.subscriber_count() == 0


async def test_new_notifications_are_live_for_their_recipient(app: Any) -> None:
    person = await _some_person(app)
    hub = hub_of(app.state)
    async with hub.subscribe([f"person:{person.id}"]) as sub:
        async with app.state.db.session() as db:
            db.add(Notification(recipient_id=person.id, kind="mention", payload={}))
        message = await sub.get(within=1)
        async with app.state.db.session() as db:
            stored = await db.scalar(select(Notification.id))
        assert message is not None
        assert message.kind == "notification"
        assert message.data == {"id": stored, "kind": "mention"}


async def test_a_slow_subscriber_loses_the_oldest_and_is_told(app: Any) -> None:
    hub = hub_of(app.state)
    async with hub.subscribe(["public"], max_queued=3) as sub:
        async with app.state.db.session() as db:
            for n in range(5):
                queue(db, LiveMessage("public", "status", {"n": n}))
        got = [await sub.get(within=1) for _ in range(3)]
        kinds = [m.kind for m in got if m is not None]
        assert "overflow" in kinds
        assert got[-1] is not None and got[-1].data == {"n": 4}
