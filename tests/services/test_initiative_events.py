"""Initiative services emit domain events; the federation subscribers turn a local person's
change into activities and ``Delivery`` rows, and send nothing for a remote person's change.

The world: tribe ``plein`` (admin ann, member bob) with ann's initiative; rik on
remote.example is an active partner of it, so every activity about it is delivered to his
inbox. The recorder below is added to the subscriber table for one test only (pytest's
``monkeypatch`` puts the table back), next to the real federation subscribers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from fedi.domain import contributions, conversation, initiative_board, initiative_people
from fedi.domain import events as domain_events
from fedi.domain.events_initiatives import (
    CommentCreated,
    InitiativeEvent,
    MessagePosted,
    TaskCreated,
    TaskResolved,
)
from fedi.domain.initiative_access import get_initiative
from fedi.federation.outgoing import initiatives as initiative_subscribers
from fedi.state import FediApp
from models import Delivery, Initiative, OutboxActivity
from tests.initiative_helpers import World, make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named

RIK_INBOX = "https://remote.example/users/rik/inbox"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[InitiativeEvent]:
    """Every initiative event emitted during the test, in order."""
    seen: list[InitiativeEvent] = []

    async def record(_db: Any, _settings: Any, event: InitiativeEvent) -> None:
        seen.append(event)

    table = domain_events._SUBSCRIBERS
    monkeypatch.setitem(table, InitiativeEvent, [*table.get(InitiativeEvent, []), record])
    return seen


async def _world_with_remote_partner(app: FediApp) -> tuple[World, Initiative]:
    world = await make_world(app)
    item = await make_initiative(app, world)
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        ann = await actor_named(db, "ann")
        rik = await actor_named(db, "rik", "remote.example")
        await initiative_people.add_partner(db, app.state.settings, initiative, rik, by=ann)
    return world, item


async def _sent(app: FediApp) -> list[tuple[str, str, list[str]]]:
    """(type, actor, inboxes) of every activity published, oldest first."""
    async with app.state.db.session() as db:
        rows = (await db.scalars(select(OutboxActivity).order_by(OutboxActivity.id))).all()
        out = []
        for row in rows:
            inboxes = await db.scalars(
                select(Delivery.inbox_url).where(Delivery.activity_id == row.id)
            )
            out.append((row.type, str(row.payload.get("actor")), sorted(inboxes.all())))
        return out


Change = Callable[[Any, FediApp, Initiative, Any], Awaitable[Any]]


async def _add_task(db: Any, app: FediApp, item: Initiative, person: Any) -> Any:
    return await initiative_board.add_task(db, app.state.settings, item, person, name="Verven")


async def _post(db: Any, app: FediApp, item: Initiative, person: Any) -> Any:
    return await conversation.post_message(db, app.state.settings, item, person, "Hallo!")


async def _comment(db: Any, app: FediApp, item: Initiative, person: Any) -> Any:
    return await conversation.add_comment(db, app.state.settings, item, person, "Mooi plan")


@pytest.mark.parametrize(
    ("change", "event_type", "kind", "inner"),
    [
        (_add_task, TaskCreated, "Create", "Ticket"),
        (_post, MessagePosted, "Create", "Note"),
        (_comment, CommentCreated, "Create", "Note"),
    ],
)
async def test_a_local_change_emits_its_event_and_queues_deliveries(
    app: FediApp,
    recorded: list[InitiativeEvent],
    change: Change,
    event_type: type[InitiativeEvent],
    kind: str,
    inner: str,
) -> None:
    _world, item = await _world_with_remote_partner(app)
    before = len(await _sent(app))
    recorded.clear()
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        ann = await actor_named(db, "ann")
        await change(db, app, initiative, ann)
    events = [e for e in recorded if isinstance(e, event_type)]
    assert len(events) == 1
    assert events[0].actor.username == "ann" and events[0].initiative.id == item.id
    new = (await _sent(app))[before:]
    ann_ap_id = "http://localhost:8000/users/ann"
    assert (kind, ann_ap_id, [RIK_INBOX]) in new
    async with app.state.db.session() as db:
        row = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.type == kind).order_by(
                OutboxActivity.id.desc()
            ).limit(1)
        )
        assert row is not None and row.payload["object"]["type"] == inner
        assert row.payload["context"] == item.ap_id


async def test_completing_a_task_sends_update_ticket_resolved(
    app: FediApp, recorded: list[InitiativeEvent]
) -> None:
    _world, item = await _world_with_remote_partner(app)
    task = await make_task(app, item)
    recorded.clear()
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        ann = await actor_named(db, "ann")
        await initiative_board.complete_task(db, app.state.settings, initiative, ann, task.id)
    assert [type(e) for e in recorded] == [TaskResolved]
    async with app.state.db.session() as db:
        row = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.type != "Announce")
            .order_by(OutboxActivity.id.desc()).limit(1)
        )
        assert row is not None and row.type == "Update"
        assert row.payload["object"]["id"] == task.ap_id
        assert row.payload["object"]["isResolved"] is True
        inboxes = await db.scalars(select(Delivery.inbox_url).where(Delivery.activity_id == row.id))
        assert inboxes.all() == [RIK_INBOX]


async def test_the_same_services_called_for_a_remote_actor_send_nothing(
    app: FediApp, recorded: list[InitiativeEvent]
) -> None:
    """What the incoming side does: the service runs with the remote sender as actor; the
    events are emitted (the rules and history are the same) but no activity is published,
    although ann, a local partner, could have been picked as sender."""
    _world, item = await _world_with_remote_partner(app)
    task = await make_task(app, item)
    before = await _sent(app)
    recorded.clear()
    settings = app.state.settings
    async with app.state.db.session() as db:
        initiative = await get_initiative(db, item.id)
        rik = await actor_named(db, "rik", "remote.example")
        made = await initiative_board.add_task(
            db, settings, initiative, rik, name="Van elders",
            ap_id="https://remote.example/tickets/1",
        )
        await initiative_board.edit_task(db, settings, initiative, rik, made.id, name="Nieuw")
        await initiative_board.complete_task(db, settings, initiative, rik, task.id)
        await conversation.post_message(
            db, settings, initiative, rik, "Groeten", ap_id="https://remote.example/notes/1"
        )
        offer = await contributions.offer(
            db, settings, initiative, rik, made.id, hours=2,
            ap_id="https://remote.example/contributions/1",
        )
        ann = await actor_named(db, "ann")
        await contributions.decide(db, settings, initiative, ann, offer.id, accept=True)
    assert [(type(e).__name__, e.actor.username) for e in recorded] == [
        ("TaskCreated", "rik"), ("TaskUpdated", "rik"), ("TaskResolved", "rik"),
        ("MessagePosted", "rik"), ("ContributionOffered", "rik"),
        ("ContributionDecided", "ann"),
    ]
    # Only ann's own decision (the Accept{Offer}, which our tribe hands on) went out;
    # nothing for rik's changes.
    new = (await _sent(app))[len(before):]
    assert new == [
        ("Accept", "http://localhost:8000/users/ann", [RIK_INBOX]),
        ("Announce", "http://localhost:8000/tribes/plein", []),
    ]


def test_every_initiative_event_has_a_federation_subscriber() -> None:
    from fedi.domain import events_initiatives

    concrete = [
        getattr(events_initiatives, name) for name in events_initiatives.__all__
        if not name.endswith("Event")
    ]
    for event_type in concrete:
        registered = domain_events._SUBSCRIBERS.get(event_type, [])
        assert any(
            getattr(s, "__module__", "") == initiative_subscribers.__name__ for s in registered
        ), event_type.__name__
