"""Meetup rules on SQLite and PostgreSQL: organising, join modes, capacity, approval,
leaving, cancelling, deleting, remote participants and the day-before reminder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from meetup_helpers import add_member, make_meetup, soon
from sqlalchemy import select
from tribe_helpers import actor_named, make_person, make_remote, make_tribe

from fedi.domain import meetups, tribes
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from models import Delivery, Meetup, Notification, OutboxActivity

pytestmark = pytest.mark.db


async def _setup(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "joris")
    await make_person(app, "outsider")
    await make_tribe(app, "plein", "fatima")
    await add_member(app, "plein", "joris")


async def _join(app: Any, meetup: Meetup, username: str, domain: str | None = None) -> Any:
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        person = await actor_named(db, username, domain)
        return await meetups.join(db, app.state.settings, row, person)


async def test_a_member_organises_and_the_event_is_federated(app: Any) -> None:
    await _setup(app)
    meetup = await make_meetup(app, "plein", "joris", capacity="20")
    assert meetup.local and meetup.ap_id.startswith("http://localhost:8000/events/")
    assert meetup.timezone == "Europe/Amsterdam" and meetup.capacity == 20
    assert "<strong>gezellig</strong>" in meetup.description_html
    async with app.state.db.session() as db:
        creates = (await db.scalars(select(OutboxActivity).where(
            OutboxActivity.type == "Create", OutboxActivity.object_ap_id == meetup.ap_id,
        ))).all()
        assert len(creates) == 1
        event = creates[0].payload["object"]
        assert event["type"] == "Event" and event["name"] == "Buurtborrel"
        assert event["joinMode"] == "free" and event["maximumAttendeeCapacity"] == 20
        assert event["anonymousParticipationEnabled"] is False
        assert event["location"]["address"]["addressLocality"] == "Den Haag"
        assert event["startTime"].endswith(("+01:00", "+02:00"))
        assert creates[0].payload["audience"] == "http://localhost:8000/tribes/plein"
        # The tribe announced it (wrapped Create) and boosted the Event.
        announced = (await db.scalars(select(OutboxActivity).where(
            OutboxActivity.type == "Announce",
        ))).all()
        assert {a.object_ap_id for a in announced} == {creates[0].ap_id, meetup.ap_id}
        assert [p.actor.username for p in await meetups.participants(db, meetup)] == ["joris"]


async def test_only_members_organise_and_times_are_checked(app: Any) -> None:
    await _setup(app)
    with pytest.raises(Forbidden):
        await make_meetup(app, "plein", "outsider")
    start = soon()
    with pytest.raises(ServiceError) as caught:
        await make_meetup(app, "plein", "joris", starts_at=start, ends_at=start)
    assert caught.value.field == "ends_at"
    with pytest.raises(ServiceError) as caught:
        await make_meetup(app, "plein", "joris", timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
    # A form gives local times in the chosen zone: 19:00 in Amsterdam in winter is 18:00 UTC.
    meetup = await make_meetup(
        app, "plein", "joris", starts_at="2030-01-15T19:00", ends_at="2030-01-15T21:00",
    )
    assert meetup.starts_at.isoformat() == "2030-01-15T18:00:00+00:00"


async def test_join_modes(app: Any) -> None:
    await _setup(app)
    anyone = await make_meetup(app, "plein", "fatima")
    members = await make_meetup(app, "plein", "fatima", join_mode="members")
    approval = await make_meetup(app, "plein", "fatima", join_mode="approval")
    assert (await _join(app, anyone, "outsider")).state == "accepted"
    with pytest.raises(Forbidden):
        await _join(app, members, "outsider")
    assert (await _join(app, members, "joris")).state == "accepted"
    pending = await _join(app, approval, "outsider")
    assert pending.state == "pending"
    # Joining again is harmless.
    assert (await _join(app, approval, "outsider")).id == pending.id
    async with app.state.db.session() as db:
        row = await db.get(Meetup, approval.id)
        joris = await actor_named(db, "joris")
        fatima = await actor_named(db, "fatima")
        with pytest.raises(Forbidden):
            await meetups.decide(db, app.state.settings, row, joris, pending.id, accept=True)
    async with app.state.db.session() as db:
        row = await db.get(Meetup, approval.id)
        fatima = await actor_named(db, "fatima")
        decided = await meetups.decide(
            db, app.state.settings, row, fatima, pending.id, accept=True
        )
        assert decided.state == "accepted"
        assert await meetups.accepted_count(db, row) == 2


async def test_a_full_event_refuses_and_leaving_frees_a_place(app: Any) -> None:
    await _setup(app)
    meetup = await make_meetup(app, "plein", "fatima", capacity="2")
    await _join(app, meetup, "joris")
    with pytest.raises(Conflict):
        await _join(app, meetup, "outsider")
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        with pytest.raises(Conflict):  # capacity below the current participants
            await meetups.update_meetup(
                db, app.state.settings, row, await actor_named(db, "fatima"), capacity="1",
            )
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        await meetups.leave(db, app.state.settings, row, await actor_named(db, "joris"))
        with pytest.raises(Conflict):  # the organiser cancels instead of leaving
            await meetups.leave(db, app.state.settings, row, await actor_named(db, "fatima"))
    assert (await _join(app, meetup, "outsider")).state == "accepted"


async def test_cancelled_or_finished_events_take_nobody(app: Any) -> None:
    await _setup(app)
    meetup = await make_meetup(app, "plein", "fatima")
    await _join(app, meetup, "joris")
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        with pytest.raises(Forbidden):
            await meetups.cancel_meetup(
                db, app.state.settings, row, await actor_named(db, "joris")
            )
        await meetups.cancel_meetup(db, app.state.settings, row, await actor_named(db, "fatima"))
    with pytest.raises(Conflict):
        await _join(app, meetup, "outsider")
    async with app.state.db.session() as db:
        told = (await db.scalars(select(Notification).where(
            Notification.kind == "meetup_cancelled"
        ))).unique().all()
        # The participant is told; the organiser who cancelled it is not.
        assert [n.recipient_id for n in told] == [(await actor_named(db, "joris")).id]
    past = await make_meetup(
        app, "plein", "fatima", starts_at=soon(-2), ends_at=soon(-2) + timedelta(hours=1)
    )
    with pytest.raises(Conflict):
        await _join(app, past, "joris")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        listed = await meetups.upcoming(db, tribe=tribe)
        assert [m.id for m in listed] == [meetup.id]  # cancelled shows, finished does not


async def test_remote_participants_hear_of_updates_cancellation_and_deletion(app: Any) -> None:
    await _setup(app)
    mobi = await make_remote(app, "mobi", "mobilizon.example")
    meetup = await make_meetup(app, "plein", "fatima")
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        await meetups.join(
            db, app.state.settings, row, await db.get(type(mobi), mobi.id),
            activity_id="https://mobilizon.example/join/1",
        )
        fatima = await actor_named(db, "fatima")
        await meetups.update_meetup(db, app.state.settings, row, fatima, title="Nieuwjaarsborrel")
        await meetups.cancel_meetup(db, app.state.settings, row, fatima)
        await meetups.delete_meetup(db, app.state.settings, row, fatima)
    async with app.state.db.session() as db:
        sent = (await db.scalars(
            select(OutboxActivity).join(Delivery, Delivery.activity_id == OutboxActivity.id)
            .where(Delivery.inbox_url == mobi.inbox).order_by(OutboxActivity.id)
        )).all()
        kinds = [(a.type, (a.payload.get("object") or {}).get("ical:status")
                  if isinstance(a.payload.get("object"), dict) else None) for a in sent]
        assert kinds == [
            ("Accept", None), ("Update", "CONFIRMED"), ("Update", "CANCELLED"), ("Delete", None),
        ]
        assert sent[0].payload["object"]["id"] == "https://mobilizon.example/join/1"
        # The tribe's boost of the Event is undone before the Delete: Mastodon keeps a boost
        # on its timelines until then.
        group = await db.scalars(select(OutboxActivity).where(
            OutboxActivity.actor_id == row.tribe.actor_id).order_by(OutboxActivity.id))
        by_group = [(a.type, a.payload["object"]) for a in group]
        boost = next(obj for kind, obj in by_group if kind == "Announce" and obj == row.ap_id)
        undos = [obj for kind, obj in by_group if kind == "Undo"]
        assert any(u["type"] == "Announce" and u["object"] == boost for u in undos)


async def test_reminders_the_day_before_once(app: Any) -> None:
    await _setup(app)
    tomorrow = await make_meetup(app, "plein", "fatima", starts_at=soon(0, 20))
    await make_meetup(app, "plein", "fatima", starts_at=soon(5))
    await _join(app, tomorrow, "joris")
    async with app.state.db.session() as db:
        assert await meetups.send_reminders(db) == 1
        assert await meetups.send_reminders(db) == 0
    async with app.state.db.session() as db:
        notes = (await db.scalars(select(Notification).where(
            Notification.kind == meetups.REMINDER_KIND
        ))).unique().all()
        assert sorted(n.payload["title"] for n in notes) == ["Buurtborrel", "Buurtborrel"]
        assert len({n.recipient_id for n in notes}) == 2


async def test_a_remote_meetup_is_joined_through_its_server_and_its_cancellation_told(
    app: Any,
) -> None:
    await _setup(app)
    mobi = await make_remote(app, "mobi", "mobilizon.example")
    start = soon(10)
    fields: dict[str, Any] = {
        "title": "Ceilidh", "description_source": "", "starts_at": start,
        "ends_at": start + timedelta(hours=3), "timezone": "Europe/London",
        "join_mode": "anyone", "status": "confirmed",
    }
    async with app.state.db.session() as db:
        organiser = await db.get(type(mobi), mobi.id)
        assert organiser is not None
        remote = await meetups.record_remote_meetup(
            db, organiser, "https://mobilizon.example/events/1", tribe=None,
            group_ap_id=None, url=None, raw={}, participant_count=12,
            description_html="<p>Dansen</p>", **fields,
        )
        joris = await actor_named(db, "joris")
        row = await meetups.join(db, app.state.settings, remote, joris)
        # Waits for the remote server; our Join went to the organiser.
        assert row.state == "pending" and row.activity_ap_id
        join = (await db.scalars(select(OutboxActivity).where(
            OutboxActivity.type == "Join"
        ))).one()
        assert join.payload["object"] == remote.ap_id and join.ap_id == row.activity_ap_id
        await meetups.answer_remote_join(
            db, app.state.settings, remote, row, organiser, accepted=True
        )
        # Only the organiser changes it; remote people cannot join through us.
        with pytest.raises(Forbidden):
            await meetups.join(db, app.state.settings, remote, organiser)
    async with app.state.db.session() as db:
        organiser = await db.get(type(mobi), mobi.id)
        assert organiser is not None
        await meetups.record_remote_meetup(
            db, organiser, "https://mobilizon.example/events/1", tribe=None,
            group_ap_id=None, url=None, raw={}, participant_count=12,
            description_html="<p>Dansen</p>", **{**fields, "status": "cancelled"},
        )
        told = (await db.scalars(select(Notification).where(
            Notification.kind == "meetup_cancelled"
        ))).unique().all()
        assert [(n.payload["title"], n.payload["key"]) for n in told] == [
            ("Ceilidh", f"r{remote.id}")
        ]


async def test_an_organiser_answers_a_remote_request_when_deciding(app: Any) -> None:
    await _setup(app)
    mobi = await make_remote(app, "mobi", "mobilizon.example")
    meetup = await make_meetup(app, "plein", "fatima", join_mode="approval")
    async with app.state.db.session() as db:
        row = await db.get(Meetup, meetup.id)
        assert row is not None
        waiting = await meetups.join(
            db, app.state.settings, row, await db.get(type(mobi), mobi.id),
            activity_id="https://mobilizon.example/join/2",
        )
        assert waiting.state == "pending"
        answers = select(OutboxActivity.type).where(OutboxActivity.type.in_(("Accept", "Reject")))
        assert (await db.scalars(answers)).all() == []  # nothing until an organiser decides
        await meetups.decide(
            db, app.state.settings, row, await actor_named(db, "fatima"), waiting.id,
            accept=False,
        )
        (answer,) = (await db.scalars(
            select(OutboxActivity).where(OutboxActivity.type.in_(("Accept", "Reject")))
        )).all()
        assert answer.type == "Reject"
        assert answer.payload["object"]["id"] == "https://mobilizon.example/join/2"
        assert answer.payload["actor"] == "http://localhost:8000/users/fatima"
