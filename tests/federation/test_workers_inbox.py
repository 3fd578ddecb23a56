"""The inbox worker and the in-process runner: dispatch, retries, isolation and wake-ups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import PUBLIC, FakeServer
from harness import add_follow, add_local_person, add_remote_actor, make_app, note_activity
from routing import RoutingTransport
from sinks import Sink
from sqlalchemy import func, select, update

from fedi.federation.incoming.registry import (
    HANDLERS,
    Ignore,
    InboundContext,
    handles,
    load_handlers,
)
from fedi.federation.outgoing.publish import publish
from fedi.state import FediApp
from fedi.workers import inbox as inbox_module
from fedi.workers.inbox import MAX_ATTEMPTS, InboxWorker
from models import (
    Actor,
    ApObject,
    Delivery,
    Follow,
    InboxEntry,
    InboxItem,
    InstanceSetting,
    utcnow,
)

REMOTE = "http://remote.example"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FediApp]:
    router = RoutingTransport()
    router.add("remote.example", FakeServer("remote.example"))
    application = await make_app(tmp_path, 8001, router)
    async with application.test_app():
        yield application
    await router.close()


async def store(app: FediApp, kind: str, n: int = 0, **extra: Any) -> int:
    """Store an inbox item from a known remote actor, as the inbox route would."""
    async with app.state.db.session() as db:
        sender = await db.scalar(select(Actor).where(Actor.ap_id == f"{REMOTE}/users/rita"))
        if sender is None:
            sender = await add_remote_actor(db, "rita", f"{REMOTE}/users/rita/inbox")
            sender.fetched_at = utcnow()
        activity = {"id": f"{REMOTE}/activities/{kind}-{n}", "type": kind,
                    "actor": sender.ap_id, **extra}
        item = InboxItem(ap_id=activity["id"], type=kind, actor_ap_id=sender.ap_id,
                         payload=activity, signed_by=sender.ap_id)
        db.add(item)
        await db.flush()
        return item.id


async def item(app: FediApp, item_id: int) -> InboxItem:
    async with app.state.db.session() as db:
        found = await db.get(InboxItem, item_id)
        assert found is not None
        return found


async def test_handler_runs_and_item_is_done(app: FediApp, monkeypatch: Any) -> None:
    seen: list[InboundContext] = []

    async def on_test(ctx: InboundContext) -> None:
        seen.append(ctx)
        ctx.db.add(InstanceSetting(key="touched", value=ctx.activity["id"]))

    monkeypatch.setitem(HANDLERS, "TestDone", on_test)
    item_id = await store(app, "TestDone")
    assert await InboxWorker(app.state).run_once() == 1
    assert (await item(app, item_id)).state == "done"
    assert seen[0].actor.username == "rita" and not seen[0].actor.local
    async with app.state.db.session() as db:
        assert await db.get(InstanceSetting, "touched") is not None


async def test_failing_handler_rolls_back_retries_then_fails(
    app: FediApp, monkeypatch: Any
) -> None:
    async def boom(ctx: InboundContext) -> None:
        ctx.db.add(InstanceSetting(key="half-done", value="x"))
        await ctx.db.flush()
        raise RuntimeError("poisoned")

    async def fine(ctx: InboundContext) -> None:
        return None

    monkeypatch.setitem(HANDLERS, "Boom", boom)
    monkeypatch.setitem(HANDLERS, "Fine", fine)
    bad = await store(app, "Boom")
    good = await store(app, "Fine")
    worker = InboxWorker(app.state)
    before = utcnow()
    assert await worker.run_once() == 2
    poisoned = await item(app, bad)
    assert (poisoned.state, poisoned.attempts) == ("pending", 1)
    assert "poisoned" in (poisoned.error or "")
    assert timedelta(seconds=7) < poisoned.next_try_at - before < timedelta(seconds=13)
    assert (await item(app, good)).state == "done"  # the poisoned one blocked nothing
    async with app.state.db.session() as db:
        assert await db.get(InstanceSetting, "half-done") is None  # rolled back
    for _ in range(MAX_ATTEMPTS - 1):
        async with app.state.db.session() as db:
            await db.execute(update(InboxItem).values(next_try_at=utcnow()))
        await worker.run_once()
    final = await item(app, bad)
    assert (final.state, final.attempts) == ("failed", MAX_ATTEMPTS)
    assert await worker.run_once() == 0


async def test_ignore_and_unknown_types(app: FediApp, monkeypatch: Any) -> None:
    async def not_for_us(ctx: InboundContext) -> None:
        raise Ignore("not addressed to anyone here")

    monkeypatch.setitem(HANDLERS, "Meh", not_for_us)
    meh = await store(app, "Meh")
    odd = await store(app, "Frobnicate")
    await InboxWorker(app.state).run_once()
    assert (await item(app, meh)).state == "ignored"
    assert (await item(app, odd)).error == "no handler for Frobnicate activities"


async def test_sender_that_is_gone_is_ignored(app: FediApp, monkeypatch: Any) -> None:
    monkeypatch.setitem(HANDLERS, "Fine2", lambda ctx: asyncio.sleep(0))
    async with app.state.db.session() as db:
        activity = {"id": f"{REMOTE}/activities/x", "type": "Fine2",
                    "actor": f"{REMOTE}/users/vanished"}
        db.add(InboxItem(ap_id=activity["id"], type="Fine2", actor_ap_id=activity["actor"],
                         payload=activity))
    await InboxWorker(app.state).run_once()
    async with app.state.db.session() as db:
        stored = await db.scalar(select(InboxItem))
    assert stored is not None and stored.state == "ignored"
    assert "gone" in (stored.error or "")


async def test_remote_activity_reaches_local_inboxes(app: FediApp, monkeypatch: Any) -> None:
    monkeypatch.setitem(HANDLERS, "Note2", lambda ctx: asyncio.sleep(0))
    settings = app.state.settings
    async with app.state.db.session() as db:
        named = await add_local_person(db, settings, "named")
        fan = await add_local_person(db, settings, "fan")
        await add_local_person(db, settings, "stranger")
        rita = await add_remote_actor(db, "rita", f"{REMOTE}/users/rita/inbox")
        rita.fetched_at = utcnow()
        await add_follow(db, fan, rita)
    await store(app, "Note2", to=[PUBLIC], cc=[named.ap_id, rita.followers_url])
    await InboxWorker(app.state).run_once()
    async with app.state.db.session() as db:
        owners = set(
            await db.scalars(
                select(Actor.username).join(InboxEntry, InboxEntry.actor_id == Actor.id)
            )
        )
    assert owners == {"named", "fan"}


async def test_activity_of_a_local_actor_is_refused(app: FediApp, monkeypatch: Any) -> None:
    """Stored past the door (before it checked): our own activities never come through the
    inbox, so one whose actor is local is forged. Ignored with the reason, handler not run,
    no inbox entry; both when claimed (prepare) and when applied on its own."""
    seen: list[str] = []

    async def on_local(ctx: InboundContext) -> None:
        seen.append(ctx.activity["id"])

    monkeypatch.setitem(HANDLERS, "LocalProbe", on_local)
    settings = app.state.settings
    async with app.state.db.session() as db:
        mia = await add_local_person(db, settings, "mia")
        named = await add_local_person(db, settings, "named")
        ids = []
        for n in range(2):
            activity = {"id": settings.url(f"/activities/forged-{n}"), "type": "LocalProbe",
                        "actor": mia.ap_id, "to": [named.ap_id]}
            row = InboxItem(ap_id=activity["id"], type="LocalProbe", actor_ap_id=mia.ap_id,
                            payload=activity, signed_by=mia.ap_id)
            db.add(row)
            await db.flush()
            ids.append(row.id)
    worker = InboxWorker(app.state)
    await worker.process(ids[1])  # applied directly: refused at dispatch
    assert await worker.run_once() == 1  # claimed: refused while preparing
    for item_id in ids:
        refused = await item(app, item_id)
        assert refused.state == "ignored"
        assert "actor is local" in (refused.error or "")
    assert seen == []
    async with app.state.db.session() as db:
        assert await db.scalar(select(func.count()).select_from(InboxEntry)) == 0


def test_registry_refuses_two_handlers_for_one_type() -> None:
    load_handlers()

    @handles("RegistryProbe")
    async def first(ctx: InboundContext) -> None:
        return None

    try:
        with pytest.raises(RuntimeError):

            @handles("RegistryProbe")
            async def second(ctx: InboundContext) -> None:
                return None
    finally:
        HANDLERS.pop("RegistryProbe", None)


# ---------------------------------------------------------------- the in-process runner


async def test_runner_delivers_without_polling_delay(tmp_path: Path) -> None:
    sink = await Sink().start()
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router, run_workers=True)
    try:
        async with app.test_app():
            state = app.state
            async with state.db.session() as db:
                alice = await add_local_person(db, state.settings, "alice")
                for n in range(5):
                    actor = await add_remote_actor(db, f"f{n}", sink.url(f"/users/f{n}/inbox"))
                    await add_follow(db, actor, alice)
            await asyncio.sleep(0.2)  # the loops are idle now, waiting on their events
            started = time.monotonic()
            async with state.db.session() as db:
                activity = note_activity(state.settings, alice)
                await publish(db, state.settings, alice, activity)
            for _ in range(500):  # polled by the test, not by the worker
                if sink.count(activity["id"]) >= 5:
                    break
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - started
            assert sink.count(activity["id"]) == 5
            assert elapsed < 0.9, f"woken by the commit, not by the 1 s poll ({elapsed:.2f}s)"
        # Shut down cleanly: every row recorded, no lease left behind.
        async with app.state.db.session() as db:
            left = await db.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.state != "delivered")
            )
        assert left == 0
    finally:
        await sink.close()
        await router.close()


def _create(n: int, note: int) -> dict[str, Any]:
    rita = f"{REMOTE}/users/rita"
    return {
        "to": [PUBLIC], "cc": [f"{rita}/followers"],
        "object": {"id": f"{rita}/statuses/{note}", "type": "Note", "attributedTo": rita,
                   "content": f"<p>note {note}</p>", "to": [PUBLIC],
                   "cc": [f"{rita}/followers"]},
    }


async def test_one_transaction_sees_changes_made_by_earlier_items(
    app: FediApp, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Lookups made once for a step of items (sender, note, followers) never go stale.

    In one batch: rita's note reaches her follower; an activity then adds a follower; her
    next note reaches both; a redelivered note (same object, new activity id) is stored once.
    """
    settings = app.state.settings
    async with app.state.db.session() as db:
        fan = await add_local_person(db, settings, "fan")
        late = await add_local_person(db, settings, "late")
        rita = await add_remote_actor(db, "rita", f"{REMOTE}/users/rita/inbox")
        rita.fetched_at = utcnow()
        await add_follow(db, fan, rita)
        late_id, rita_id = late.id, rita.id

    async def on_follow_change(ctx: InboundContext) -> None:
        ctx.db.add(Follow(follower_id=late_id, followed_id=rita_id, accepted=True,
                          activity_ap_id=f"{ctx.activity['id']}/follow"))

    monkeypatch.setitem(HANDLERS, "TestFollowChange", on_follow_change)
    first = await store(app, "Create", 1, **_create(1, 1))
    await store(app, "TestFollowChange", 2)
    second = await store(app, "Create", 3, **_create(3, 2))
    again = await store(app, "Create", 4, **_create(4, 2))
    worker = InboxWorker(app.state)
    caplog.set_level("DEBUG", logger="fedi.workers.inbox")
    assert await worker.run_once() == 4
    assert "one by one" not in caplog.text  # all four in one transaction
    assert {(await item(app, i)).state for i in (first, second, again)} == {"done"}
    async with app.state.db.session() as db:
        reached = set(
            (await db.execute(
                select(Actor.username, InboxEntry.activity_ap_id)
                .join(InboxEntry, InboxEntry.actor_id == Actor.id)
            )).all()
        )
        notes = await db.scalar(
            select(func.count()).select_from(ApObject)
            .where(ApObject.ap_id == f"{REMOTE}/users/rita/statuses/2")
        )
    one, three = f"{REMOTE}/activities/Create-1", f"{REMOTE}/activities/Create-3"
    assert ("fan", one) in reached and ("late", one) not in reached
    assert {("fan", three), ("late", three)} <= reached
    assert notes == 1


async def test_a_transaction_ends_with_the_item_that_used_up_its_time(
    app: FediApp, monkeypatch: Any
) -> None:
    """On SQLite a worker transaction holds the write lock, which every inbox accept waits
    for: it stops after the item that crossed the budget, not at the end of its step of
    items, and the rest are applied in the next transactions."""
    transactions: list[Any] = []  # the sessions themselves: kept alive, their ids differ

    async def slow(ctx: InboundContext) -> None:
        transactions.append(ctx.db)
        await asyncio.sleep(0.03)  # an expensive item, inside the transaction

    monkeypatch.setitem(HANDLERS, "TestSlow", slow)
    monkeypatch.setattr(inbox_module, "TRANSACTION_BUDGET", 0.05)
    ids = [await store(app, "TestSlow", n) for n in range(6)]
    worker = InboxWorker(app.state)
    taken, failed = await worker.process_together(ids)
    assert failed is None
    # The first item (30 ms) fits; the second crosses 50 ms and ends the transaction. A
    # slow machine may end it after the first already; never later.
    assert taken in ({ids[0]}, {ids[0], ids[1]}), taken
    assert {(await item(app, i)).state for i in taken} == {"done"}
    assert {(await item(app, i)).state for i in ids if i not in taken} == {"pending"}
    await worker.run_once()
    assert {(await item(app, i)).state for i in ids} == {"done"}
    # Six items of 30 ms: three transactions at the very least.
    assert len({id(db) for db in transactions}) >= 3


async def test_a_transaction_loads_what_the_time_left_should_fit(app: FediApp) -> None:
    """Items are loaded in steps sized by what an item has cost lately, so a transaction
    that ends early has not loaded (and prefetched for) items it leaves to the next one."""
    worker = InboxWorker(app.state)
    step = inbox_module.LOAD_STEP
    assert worker._step_size(0.025, 0.0) == step  # nothing known yet: a whole step
    worker._note_item_cost(0.004)
    assert worker._step_size(0.025, 0.013) == 3  # 12 ms left, 4 ms each
    assert worker._step_size(0.025, 0.030) == 1  # over: still one, never none
    assert worker._step_size(None, 0.5) == step  # PostgreSQL: no time limit
    for _ in range(30):
        worker._note_item_cost(0.0005)  # cheap items lately: the estimate follows
    assert worker._step_size(0.025, 0.0) == step
