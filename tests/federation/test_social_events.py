"""Domain events of notes, follows, reactions and tribes, and what the federation layer
sends for them: in the service's own transaction, only for local actors, never looped back.

Two in-process instances (``two_apps``): alice, carol and dave on localhost:8001, bob on
localhost:8002; the tribe ``plein`` on 8001.
"""

from __future__ import annotations

from typing import Any

import pytest
from harness import drain
from social_helpers import follow_rows, local, make_person
from sqlalchemy import func, select
from tribe_fed_helpers import held_posts, member_state, tribe_posts
from tribe_helpers import make_person as make_web_person
from tribe_helpers import make_tribe

from fedi.domain import (
    events,
    follows,
    notes,
    reactions,
    tribe_members,
    tribe_moderation,
    tribes,
)
from fedi.domain.events_social import (
    FollowAccepted,
    FollowRequested,
    NoteCreated,
    Reacted,
)
from fedi.domain.events_tribes import (
    MemberJoined,
    MemberLeft,
    MembershipEvent,
    TribePostAccepted,
)
from fedi.federation.remote.actors import get_or_fetch_actor, resolve_handle
from models import ApObject, Delivery, InboxItem, OutboxActivity, Reaction

A = "http://localhost:8001"
ALICE = f"{A}/users/alice"
BOB = "http://localhost:8002/users/bob"
PLEIN = f"{A}/tribes/plein"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every domain event emitted during the test, in order (on a private table copy)."""
    seen: list[Any] = []
    monkeypatch.setattr(
        events, "_SUBSCRIBERS", {k: list(v) for k, v in events._SUBSCRIBERS.items()}
    )

    @events.subscribes(events.DomainEvent)
    async def record(db: Any, settings: Any, event: Any) -> None:
        seen.append(event)

    return seen


async def _count(app: Any, model: Any, *where: Any) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _bob_follows_alice(a: Any, b: Any) -> None:
    await make_person(a, "alice")
    await make_person(b, "bob")
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await follows.follow(db, b.state, bob, await get_or_fetch_actor(b.state, db, ALICE))
    await drain(a, b)


async def test_note_and_its_deliveries_commit_together(two_apps, recorded):
    a, b = two_apps
    await _bob_follows_alice(a, b)
    recorded.clear()
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        note = await notes.create_note(db, a.state, alice, "hello followers")
        # Inside the same transaction: the event was emitted, the Create stored and
        # queued for bob's inbox.
        assert [type(e) for e in recorded] == [NoteCreated]
        assert recorded[0].actor.id == alice.id and recorded[0].note is note
        create = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.ap_id == recorded[0].activity_id)
        )
        assert create is not None and create.type == "Create"
        assert create.object_ap_id == note.ap_id
        inboxes = (
            await db.scalars(select(Delivery.inbox_url).where(Delivery.activity_id == create.id))
        ).all()
        assert inboxes == ["http://localhost:8002/inbox"]

    # A failure later in the request rolls the note back with its deliveries.
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with a.state.db.session() as db:
            alice = await db.merge(await local(a, "alice"))
            await notes.create_note(db, a.state, alice, "never sent")
            raise Boom
    assert await _count(a, OutboxActivity, OutboxActivity.type == "Create") == 1
    creates = select(OutboxActivity.id).where(OutboxActivity.type == "Create")
    assert await _count(a, Delivery, Delivery.activity_id.in_(creates)) == 1
    await drain(a, b)
    assert await _count(b, ApObject, ApObject.ap_id == note.ap_id) == 1


async def test_local_follow_is_answered_in_its_own_transaction(two_apps, recorded):
    a, _b = two_apps
    alice = await make_person(a, "alice")
    dave = await make_person(a, "dave")
    async with a.state.db.session() as db:
        await follows.follow(db, a.state, alice, dave)
    # Who acted is part of each event: alice asked, dave (unlocked) accepted.
    assert [(type(e), e.actor.username) for e in recorded] == [
        (FollowRequested, "alice"), (FollowAccepted, "dave"),
    ]
    assert await follow_rows(a) == [(ALICE, f"{A}/users/dave", True)]
    # Nothing loops back through the inbox, and nothing is delivered anywhere.
    assert await _count(a, InboxItem) == 0
    assert await _count(a, Delivery) == 0
    assert await drain(a) == 0


async def test_local_like_of_local_note_counts_at_once(two_apps, recorded):
    a, _b = two_apps
    await make_person(a, "alice")
    await make_person(a, "carol")
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        note = await notes.create_note(db, a.state, alice, "like me")
    async with a.state.db.session() as db:
        carol = await db.merge(await local(a, "carol"))
        await reactions.like(db, a.state, carol, note.ap_id)
    assert isinstance(recorded[-1], Reacted) and recorded[-1].actor.username == "carol"
    assert await _count(a, Reaction, Reaction.object_ap_id == note.ap_id) == 1
    assert await _count(a, InboxItem) == 0


async def test_an_event_of_a_remote_actor_sends_nothing(two_apps):
    """The federation layer never speaks for someone else's server."""
    a, b = two_apps
    await _bob_follows_alice(a, b)
    before = await _count(a, OutboxActivity)
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        bob = await get_or_fetch_actor(a.state, db, BOB)
        note = await notes.create_note(db, a.state, alice, "a note")
        after_create = await db.scalar(select(func.count()).select_from(OutboxActivity))
        settings = a.state.settings
        await events.emit(db, settings, NoteCreated(actor=bob, note=note, activity_id="x:1"))
        await events.emit(
            db, settings,
            FollowRequested(
                actor=bob, follower=bob, followed=alice, follow_id="x:2", activity_id="x:2"
            ),
        )
        await events.emit(
            db, settings,
            FollowAccepted(
                actor=bob, follower=alice, followed=bob, follow_id="x:3", activity_id="x:4"
            ),
        )
        assert await db.scalar(select(func.count()).select_from(OutboxActivity)) == after_create
    assert await _count(a, OutboxActivity) == before + 1


async def test_remote_member_leaving_a_tribe_is_not_echoed(two_apps, recorded):
    a, b = two_apps
    await make_web_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    await make_person(b, "bob")
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        group = await resolve_handle(b.state, db, "plein@localhost:8001")
        await follows.follow(db, b.state, bob, group)
    await drain(a, b)
    assert await member_state(a, "plein", BOB) == "active"
    joined = [e for e in recorded if isinstance(e, MembershipEvent)]
    # On a, the join was applied from bob's Follow: bob acted, the Group answered.
    assert [(type(e), e.actor.ap_id) for e in joined] == [(MemberJoined, BOB)]
    group_sent = await _count(a, OutboxActivity)

    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        group = await resolve_handle(b.state, db, "plein@localhost:8001")
        await follows.unfollow(db, b.state, bob, group)
    await drain(a, b)
    assert await member_state(a, "plein", BOB) is None
    left = [e for e in recorded if isinstance(e, MemberLeft)]
    assert len(left) == 1 and left[0].actor.ap_id == BOB
    # Bob's Undo was applied on a; a sent nothing back for it.
    assert await _count(a, OutboxActivity) == group_sent


async def test_local_person_following_a_local_tribe_joins_at_once(two_apps, recorded):
    a, _b = two_apps
    await make_web_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    carol = await make_person(a, "carol")
    async with a.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        carol = await db.merge(carol)
        await follows.follow(db, a.state, carol, tribe.actor)
    assert await member_state(a, "plein", f"{A}/users/carol") == "active"
    assert (f"{A}/users/carol", PLEIN, True) in await follow_rows(a)
    assert await _count(a, InboxItem) == 0
    # Leaving on the web ends the follow too.
    async with a.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        carol = await db.merge(carol)
        await tribe_members.leave(db, a.state.settings, tribe, carol)
    assert (f"{A}/users/carol", PLEIN, True) not in await follow_rows(a)


async def test_local_post_to_a_local_tribe_is_taken_and_announced_at_once(two_apps, recorded):
    a, _b = two_apps
    await make_web_person(a, "alice")
    await make_tribe(a, "plein", "alice", join_mode="approval")
    carol = await make_person(a, "carol")
    async with a.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        alice = await db.merge(await local(a, "alice"))
        post = await notes.create_note(db, a.state, alice, "Markt!", recipients=[tribe.actor])
        carol = await db.merge(carol)
        # carol is no member of this approval tribe: her post waits for the moderators.
        held = await notes.create_note(db, a.state, carol, "Mag ik?", recipients=[tribe.actor])
    accepted = [e for e in recorded if isinstance(e, TribePostAccepted)]
    assert [(e.actor.username, e.post.object_ap_id) for e in accepted] == [("alice", post.ap_id)]
    # The tribe announced alice's Create (embedded as sent) and boosted the note.
    async with a.state.db.session() as db:
        announces = (
            await db.scalars(
                select(OutboxActivity.payload).where(OutboxActivity.type == "Announce")
            )
        ).all()
    inner = [p["object"] for p in announces if isinstance(p["object"], dict)]
    assert [(i["type"], i["object"]["id"]) for i in inner] == [("Create", post.ap_id)]
    assert [p["object"] for p in announces if isinstance(p["object"], str)] == [post.ap_id]
    assert await _count(a, InboxItem) == 0
    (waiting,) = await held_posts(a)
    assert waiting.object_ap_id == held.ap_id
    async with a.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        alice = await db.merge(await local(a, "alice"))
        await tribe_moderation.decide_held_post(
            db, a.state.settings, tribe, alice, waiting.id, True
        )
    accepted = [e for e in recorded if isinstance(e, TribePostAccepted)]
    assert [e.post.object_ap_id for e in accepted] == [post.ap_id, held.ap_id]
    assert [p[0] for p in await tribe_posts(a, "plein")] == [post.ap_id, held.ap_id]
