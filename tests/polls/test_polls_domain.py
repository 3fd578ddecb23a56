"""The poll rules (``fedi.domain.polls``) on SQLite and PostgreSQL.

Who may start, vote in, edit and close a poll; once per person (single choice) or once per
option (multiple choice); results hidden until closing; closing at the end time (lazily on
read and by the periodic sweep) and the decision entering the initiative's history; and
what an incoming ``Question`` becomes (a remote poll our people vote in).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fedi.domain import polls, tribes
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from fedi.domain.initiative_access import get_initiative
from fedi.federation.incoming.polls import question_fields, remote_poll_for
from fedi.workers.poll_closer import close_polls_once
from models import (
    Actor,
    ApObject,
    Delivery,
    InitiativeUpdate,
    OutboxActivity,
    Poll,
    PollVote,
    utcnow,
)
from tests.initiative_helpers import World, make_initiative, make_world

SOON = timedelta(hours=1)


async def _me(db: Any, actor: Actor) -> Actor:
    found = await db.get(Actor, actor.id)
    assert found is not None
    return found


async def _tribe_poll(app: Any, world: World, by: Actor | None = None, **fields: Any) -> Poll:
    values: dict[str, Any] = {
        "question": "Welke kleur krijgen de bankjes?", "options": ["Groen", "Blauw", "Rood"],
        "end_time": utcnow() + SOON,
    }
    values.update(fields)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        return await polls.create_poll(
            db, app.state.settings, await _me(db, by or world.ann), tribe=tribe, **values
        )


async def _initiative_poll(
    app: Any, initiative_id: int, by: Actor, question: str, options: list[str], **fields: Any
) -> Poll:
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative_id)
        return await polls.create_poll(
            db, app.state.settings, await _me(db, by), tribe=item.tribe, initiative=item,
            question=question, options=options, end_time=utcnow() + SOON, **fields,
        )


async def _vote(app: Any, poll_id: int, voter: Actor, *choices: Any) -> list[PollVote]:
    async with app.state.db.session() as db:
        poll = await polls.get_poll(db, poll_id)
        return await polls.vote(db, app.state.settings, await _me(db, voter), poll, choices)


async def _poll(app: Any, poll_id: int) -> Poll:
    async with app.state.db.session() as db:
        poll = await db.get(Poll, poll_id)
        assert poll is not None
        return poll


async def test_a_member_starts_a_poll_and_it_is_published_as_a_question(app: Any) -> None:
    world = await make_world(app)
    poll = await _tribe_poll(app, world, by=world.bob)
    assert poll.ap_id == f"{app.state.settings.base_url}/polls/{poll.id}"
    assert [o.name for o in poll.options] == ["Groen", "Blauw", "Rood"]
    async with app.state.db.session() as db:
        sent = (await db.scalars(
            select(OutboxActivity).where(OutboxActivity.object_ap_id == poll.ap_id)
        )).all()
    create = next(a for a in sent if a.type == "Create")
    question = create.payload["object"]
    assert question["type"] == "Question" and question["oneOf"][0]["name"] == "Groen"
    assert question["oneOf"][0]["replies"] == {"type": "Collection", "totalItems": 0}
    assert question["audience"] == world.tribe.actor.ap_id
    assert question["endTime"] and question["votersCount"] == 0


async def test_outsiders_cannot_start_a_poll_and_the_form_is_checked(app: Any) -> None:
    world = await make_world(app)
    with pytest.raises(Forbidden):
        await _tribe_poll(app, world, by=world.cas)
    with pytest.raises(ServiceError) as caught:
        await _tribe_poll(app, world, options=["Ja"])
    assert caught.value.field == "options"
    with pytest.raises(ServiceError) as caught:
        await _tribe_poll(app, world, options=["Ja", "ja"])
    assert caught.value.field == "options"
    with pytest.raises(ServiceError) as caught:
        await _tribe_poll(app, world, end_time=utcnow() - SOON)
    assert caught.value.field == "end_time"
    with pytest.raises(ServiceError) as caught:
        await _tribe_poll(app, world, voters="partners")  # a tribe poll has no partners
    assert caught.value.field == "voters"


async def test_a_person_votes_once_in_a_single_choice_poll(app: Any) -> None:
    world = await make_world(app)
    poll = await _tribe_poll(app, world)
    await _vote(app, poll.id, world.bob, "Blauw")
    with pytest.raises(Conflict):
        await _vote(app, poll.id, world.bob, "Groen")
    with pytest.raises(ServiceError):
        await _vote(app, poll.id, world.ann, "Groen", "Blauw")  # one answer only
    await _vote(app, poll.id, world.ann, 0)  # by position, as the web form sends
    after = await _poll(app, poll.id)
    assert [o.votes_count for o in after.options] == [1, 1, 0]
    assert after.voters_count == 2


async def test_multiple_choice_is_once_per_option(app: Any) -> None:
    world = await make_world(app)
    poll = await _tribe_poll(app, world, multiple=True)
    await _vote(app, poll.id, world.bob, "Groen", "Rood")
    with pytest.raises(Conflict):
        await _vote(app, poll.id, world.bob, "Rood")
    await _vote(app, poll.id, world.bob, "Blauw")  # another option: Mastodon sends one Note each
    after = await _poll(app, poll.id)
    assert [o.votes_count for o in after.options] == [1, 1, 1]
    assert after.voters_count == 1


async def test_who_may_vote(app: Any) -> None:
    world = await make_world(app)
    members_only = await _tribe_poll(app, world)
    with pytest.raises(Forbidden):
        await _vote(app, members_only.id, world.cas, "Groen")  # not a member
    with pytest.raises(Forbidden):
        await _vote(app, members_only.id, world.rik, "Groen")  # remote, not a member
    open_poll = await _tribe_poll(app, world, voters="anyone")
    await _vote(app, open_poll.id, world.cas, "Groen")
    await _vote(app, open_poll.id, world.rik, "Blauw")
    initiative = await make_initiative(app, world)
    partners_poll = await _initiative_poll(
        app, initiative.id, world.ann, "Starten we in mei?", ["Ja", "Nee"], voters="partners"
    )
    with pytest.raises(Forbidden):
        await _vote(app, partners_poll.id, world.bob, "Ja")  # a member, not a partner
    await _vote(app, partners_poll.id, world.ann, "Ja")  # the creator
    with pytest.raises(Forbidden):  # bob is no partner: he cannot start one either
        await _initiative_poll(app, initiative.id, world.bob, "?", ["a", "b"])


async def test_hidden_results_show_once_closed_and_the_decision_enters_the_history(
    app: Any,
) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    poll = await _initiative_poll(
        app, initiative.id, world.ann, "Welke dag?", ["Zaterdag", "Zondag"], results="closed"
    )
    await _vote(app, poll.id, world.bob, "Zondag")
    async with app.state.db.session() as db:
        view = await polls.view_of(db, app.state.settings, await polls.get_poll(db, poll.id),
                                   await _me(db, world.bob))
        assert not view.show_results and not view.may_vote and view.open
        sent = (await db.scalars(
            select(OutboxActivity).where(
                OutboxActivity.object_ap_id == poll.ap_id, OutboxActivity.type == "Create"
            )
        )).all()
        assert sent
        # While hidden, the Question carries no per-option counts.
        assert all("replies" not in o for a in sent for o in a.payload["object"]["oneOf"])
        row = await db.get(Poll, poll.id)
        assert row is not None
        row.end_time = utcnow() - timedelta(seconds=1)  # its time has run out
    assert await close_polls_once(app.state) == 1
    assert await close_polls_once(app.state) == 0  # closing is done once
    after = await _poll(app, poll.id)
    assert after.closed_at is not None
    with pytest.raises(Forbidden):
        await _vote(app, poll.id, world.ann, "Zaterdag")
    async with app.state.db.session() as db:
        view = await polls.view_of(db, app.state.settings, after, None)
        assert view.show_results and view.percent(after.options[1]) == 100
        entry = await db.scalar(
            select(InitiativeUpdate).where(
                InitiativeUpdate.initiative_id == initiative.id,
                InitiativeUpdate.kind == "poll_closed",
            )
        )
        assert entry is not None
        assert entry.payload["winners"] == ["Zondag"] and entry.payload["question"] == "Welke dag?"
        final = (await db.scalars(
            select(OutboxActivity).where(
                OutboxActivity.object_ap_id == poll.ap_id, OutboxActivity.type == "Update"
            ).order_by(OutboxActivity.id.desc())
        )).first()
        assert final is not None and final.payload["object"]["closed"]
        assert final.payload["object"]["oneOf"][1]["replies"]["totalItems"] == 1


async def test_a_poll_closes_lazily_when_read(app: Any) -> None:
    world = await make_world(app)
    poll = await _tribe_poll(app, world)
    async with app.state.db.session() as db:
        row = await db.get(Poll, poll.id)
        assert row is not None
        row.end_time = utcnow() - timedelta(seconds=1)
    async with app.state.db.session() as db:
        view = await polls.view_of(db, app.state.settings, await polls.get_poll(db, poll.id), None)
        assert not view.open and view.poll.closed_at is not None


async def test_only_the_organiser_edits_and_options_are_fixed_once_voted(app: Any) -> None:
    world = await make_world(app)
    poll = await _tribe_poll(app, world, by=world.bob)
    async with app.state.db.session() as db:
        row = await polls.get_poll(db, poll.id)
        with pytest.raises(Forbidden):
            await polls.edit_poll(db, app.state.settings, await _me(db, world.cas), row,
                                  question="Anders")
    async with app.state.db.session() as db:
        row = await polls.get_poll(db, poll.id)
        await polls.edit_poll(db, app.state.settings, await _me(db, world.bob), row,
                              options=["Groen", "Geel"])
    await _vote(app, poll.id, world.ann, "Geel")
    async with app.state.db.session() as db:
        row = await polls.get_poll(db, poll.id)
        with pytest.raises(Conflict):
            await polls.edit_poll(db, app.state.settings, await _me(db, world.bob), row,
                                  options=["Groen", "Oranje"])
    async with app.state.db.session() as db:
        row = await polls.get_poll(db, poll.id)
        # A tribe admin may cancel a member's poll too.
        await polls.delete_poll(db, app.state.settings, await _me(db, world.ann), row)
    async with app.state.db.session() as db:
        kinds = [a.type for a in (await db.scalars(
            select(OutboxActivity).where(OutboxActivity.object_ap_id == poll.ap_id)
        )).all()]
    assert kinds.count("Create") == 1 and "Update" in kinds and kinds[-1] == "Delete"


MASTODON_QUESTION = {
    "id": "https://remote.example/users/rik/statuses/110000000000000001",
    "type": "Question",
    "attributedTo": "https://remote.example/users/rik",
    "content": "<p>Koffie of thee?</p>",
    "published": "2026-12-01T10:00:00Z",
    "endTime": "2099-12-02T10:00:00Z",
    "votersCount": 3,
    "oneOf": [
        {"type": "Note", "name": "Koffie", "replies": {"type": "Collection", "totalItems": 2}},
        {"type": "Note", "name": "Thee", "replies": {"type": "Collection", "totalItems": 1}},
    ],
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": ["https://remote.example/users/rik/followers"],
}


async def test_a_remote_question_becomes_a_poll_our_people_vote_in(app: Any) -> None:
    world = await make_world(app)
    fields = question_fields(MASTODON_QUESTION)
    assert fields is not None and fields["question"] == "Koffie of thee?"
    assert fields["options"] == [("Koffie", 2), ("Thee", 1)] and not fields["multiple"]
    async with app.state.db.session() as db:
        obj = ApObject(
            ap_id=MASTODON_QUESTION["id"], type="Question", local=False,
            attributed_to_id=world.rik.id, payload=MASTODON_QUESTION,
            content_html=MASTODON_QUESTION["content"],
        )
        db.add(obj)
        await db.flush()
        poll = await remote_poll_for(db, obj)
        assert poll is not None and not poll.local and poll.voters_count == 3
        votes = await polls.vote(db, app.state.settings, await _me(db, world.bob), poll, ["Thee"])
        assert votes[0].ap_id == f"{world.bob.ap_id}#votes/{votes[0].id}"
        with pytest.raises(Forbidden):  # a remote person never votes through us
            await polls.vote(db, app.state.settings, await _me(db, world.rik), poll, ["Thee"])
        sent = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.ap_id == f"{votes[0].ap_id}/activity")
        )
        assert sent is not None
        note = sent.payload["object"]
        # Mastodon's vote shape: a Note with name and inReplyTo, to the author only.
        assert note == {
            "id": votes[0].ap_id, "type": "Note", "name": "Thee",
            "attributedTo": world.bob.ap_id, "inReplyTo": MASTODON_QUESTION["id"],
            "to": [world.rik.ap_id],
        }
        assert sent.public is False
        delivery = await db.scalar(select(Delivery).where(Delivery.activity_id == sent.id))
        assert delivery is not None and delivery.inbox_url == world.rik.inbox
