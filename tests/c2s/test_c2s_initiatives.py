"""Every initiative action over the C2S outbox, in one instance, through the same services
as the web pages: the Page, lanes, tasks, offers and their answers, support, partnership,
messages and comments, each answered 201 with an activity whose id dereferences for its
owner; a rule of the web pages (only partners change the board) holds here too."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import PUBLIC, act, get_json, refused, token_of
from sqlalchemy import select

from fedi.domain import initiative_board
from fedi.domain.initiative_access import is_partner, is_supporter
from models import Comment, Contribution, Initiative, InitiativeUpdate, Rating, Task
from tests.initiative_helpers import make_world

pytestmark = pytest.mark.db


async def _initiative(app: Any, ap_id: str) -> Initiative:
    async with app.state.db.session() as db:
        found = await db.scalar(select(Initiative).where(Initiative.ap_id == ap_id))
        assert found is not None
        return found


async def _lane_names(app: Any, initiative: Initiative) -> list[str]:
    async with app.state.db.session() as db:
        row = await db.get(Initiative, initiative.id)
        assert row is not None
        return [lane.name for lane in await initiative_board.lanes_of(db, row)]


async def test_the_whole_board_over_c2s(app: Any) -> None:
    world = await make_world(app)
    ann, bob, cas = [await token_of(app, n) for n in ("ann", "bob", "cas")]
    tribe_id = world.tribe.actor.ap_id

    # A bare Page (no content, no addressing) is wrapped in Create; public by default.
    created = await act(app, "ann", ann, {
        "type": "Page", "name": "Bankjes op het plein", "summary": "Zitplekken",
        "source": {"content": "We zetten **bankjes** neer.", "mediaType": "text/markdown"},
        "audience": tribe_id, "phase": "plan",
    })
    assert created["type"] == "Create" and created["object"]["type"] == "Page"
    page_id = created["object"]["id"]
    initiative = await _initiative(app, page_id)
    assert initiative.visibility == "public" and initiative.phase == "plan"
    assert initiative.tribe_id == world.tribe.id
    assert PUBLIC in created["to"] and tribe_id in created["to"]
    status, doc, _ = await get_json(app, created["id"])
    assert status == 200 and doc["id"] == created["id"]

    # Lanes: made, renamed, removed (no ids on the wire: named by initiative and name).
    await act(app, "ann", ann, {"type": "Create",
                                "object": {"type": "Lane", "context": page_id, "name": "Later"}})
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Lane", "context": page_id, "formerName": "Later", "name": "Ooit"}})
    assert "Ooit" in await _lane_names(app, initiative)
    await act(app, "ann", ann, {"type": "Delete",
                                "object": {"type": "Lane", "context": page_id, "name": "Ooit"}})
    assert "Ooit" not in await _lane_names(app, initiative)

    # A task in a lane that does not exist yet: the lane is made, as on receipt.
    task_act = await act(app, "ann", ann, {"type": "Create", "object": {
        "type": "Ticket", "name": "Bankjes timmeren", "context": page_id, "lane": "Te doen",
        "talents": ["timmeren"], "endTime": "2030-06-01T00:00:00Z"}})
    task_id = task_act["object"]["id"]
    assert task_act["object"]["lane"] == "Te doen"
    assert "Te doen" in await _lane_names(app, initiative)
    # Only partners change the board (the board's rule): cas is refused.
    await refused(app, "cas", cas, {"type": "Create", "object": {
        "type": "Ticket", "name": "Ik ook", "context": page_id}}, 403)
    edited = await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Ticket", "id": task_id, "name": "Tien bankjes timmeren"}})
    assert edited["type"] == "Update"

    # bob offers, ann accepts: bob becomes a partner.
    offer = await act(app, "bob", bob, {"type": "Offer", "object": {
        "type": "Contribution", "target": task_id, "hours": 4, "motivation": "Ik ben timmerman"},
        "target": task_id})
    assert offer["type"] == "Offer"
    accept = await act(app, "ann", ann, {"type": "Accept", "object": offer["id"]})
    assert accept["type"] == "Accept"
    async with app.state.db.session() as db:
        contribution = await db.scalar(select(Contribution))
        assert contribution is not None and contribution.state == "accepted"
        row = await db.get(Initiative, initiative.id)
        assert row is not None
        assert await is_partner(db, row, world.bob)
    status, doc, _ = await get_json(app, contribution.ap_id or "")
    assert status == 200 and doc["type"] == "Contribution" and doc["hours"] == 4

    # The task is done (isResolved) and reopened.
    await act(app, "bob", bob, {"type": "Update", "object": {
        "type": "Ticket", "id": task_id, "isResolved": True}})
    async with app.state.db.session() as db:
        task = await db.scalar(select(Task).where(Task.ap_id == task_id))
        assert task is not None and task.completed_at is not None

    # cas supports (Like of the Page) and comments; ann posts a message.
    await act(app, "cas", cas, {"type": "Like", "object": page_id})
    comment = await act(app, "cas", cas, {"type": "Note", "content": "Mooi plan!",
                                          "inReplyTo": page_id})
    message = await act(app, "ann", ann, {"type": "Note", "content": "We beginnen zaterdag.",
                                          "inReplyTo": page_id, "isUpdate": True})
    reply = await act(app, "cas", cas, {"type": "Note", "content": "Ik kom!",
                                        "inReplyTo": message["object"]["id"]})
    async with app.state.db.session() as db:
        row = await db.get(Initiative, initiative.id)
        assert row is not None
        assert await is_supporter(db, row, world.cas)
        comments = (await db.scalars(select(Comment).order_by(Comment.id))).all()
        assert [c.content_source for c in comments] == ["Mooi plan!", "Ik kom!"]
        assert comments[1].update_id is not None
        entry = await db.scalar(select(InitiativeUpdate).where(
            InitiativeUpdate.ap_id == message["object"]["id"]))
        assert entry is not None and entry.kind == "message"
    await act(app, "cas", cas, {"type": "Update", "object": {
        "type": "Note", "id": comment["object"]["id"], "content": "Heel mooi plan!"}})
    await act(app, "cas", cas, {"type": "Delete", "object": reply["object"]["id"]})

    # Partnership: cas asks, ann accepts by the Join's id, cas leaves again.
    join = await act(app, "cas", cas, {"type": "Join", "object": page_id,
                                       "content": "Ik wil meehelpen"})
    await act(app, "ann", ann, {"type": "Accept", "object": join["id"]})
    async with app.state.db.session() as db:
        row = await db.get(Initiative, initiative.id)
        assert row is not None and await is_partner(db, row, world.cas)
    await act(app, "cas", cas, {"type": "Leave", "object": page_id})
    # Support ends with Undo of the Like.
    likes = await act(app, "cas", cas, {"type": "Like", "object": page_id})
    await act(app, "cas", cas, {"type": "Undo", "object": likes["id"]})
    async with app.state.db.session() as db:
        row = await db.get(Initiative, initiative.id)
        assert row is not None
        assert not await is_partner(db, row, world.cas)
        assert not await is_supporter(db, row, world.cas)

    # Edits of the Page: only the terms present change; archiving is the archived term.
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Page", "id": page_id, "summary": "Zitplekken voor iedereen"}})
    changed = await _initiative(app, page_id)
    assert changed.summary == "Zitplekken voor iedereen" and changed.name == "Bankjes op het plein"
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Page", "id": page_id, "archived": True}})
    assert (await _initiative(app, page_id)).archived_at is not None
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Page", "id": page_id, "archived": False}})

    # Withdrawing an offer (Undo of it) and deleting the task and the initiative.
    await act(app, "bob", bob, {"type": "Update", "object": {
        "type": "Ticket", "id": task_id, "isResolved": False}})
    second = await act(app, "cas", cas, {"type": "Offer", "object": {
        "type": "Contribution", "resources": "Een zaag"}, "target": task_id})
    await act(app, "cas", cas, {"type": "Undo", "object": second["id"]})
    async with app.state.db.session() as db:
        states = sorted((await db.scalars(select(Contribution.state))).all())
    assert states == ["accepted", "withdrawn"]
    await act(app, "ann", ann, {"type": "Delete", "object": task_id})
    await act(app, "ann", ann, {"type": "Delete", "object": page_id})
    assert (await _initiative(app, page_id)).deleted_at is not None


async def test_offers_are_answered_by_partners_only(app: Any) -> None:
    world = await make_world(app)
    ann, bob, cas = [await token_of(app, n) for n in ("ann", "bob", "cas")]
    created = await act(app, "ann", ann, {"type": "Create", "object": {
        "type": "Page", "name": "Moestuin", "audience": world.tribe.actor.ap_id}})
    page_id = created["object"]["id"]
    task = await act(app, "ann", ann, {"type": "Ticket", "name": "Spitten", "context": page_id})
    offer = await act(app, "bob", bob, {"type": "Offer", "object": {
        "type": "Contribution", "hours": 2}, "target": task["object"]["id"]})
    # cas is no partner: refused like the button would be.
    await refused(app, "cas", cas, {"type": "Reject", "object": offer["id"]}, 403)
    rejected = await act(app, "ann", ann, {"type": "Reject", "object": {
        "type": "Offer", "id": offer["id"], "actor": world.bob.ap_id}})
    assert rejected["type"] == "Reject"
    async with app.state.db.session() as db:
        assert (await db.scalar(select(Contribution.state))) == "rejected"
    # A Page without a tribe it may be started in is refused with a reason.
    doc = await refused(app, "cas", cas, {"type": "Page", "name": "Zomaar"}, 400)
    assert "tribe" in doc["error"]


async def test_members_only_tribe_policy_holds(app: Any) -> None:
    world = await make_world(app, initiative_policy="members")
    cas = await token_of(app, "cas")
    await refused(app, "cas", cas, {"type": "Page", "name": "Niet van hier",
                                    "audience": world.tribe.actor.ap_id}, 403)


async def test_moves_ratings_and_restricted_reads(app: Any) -> None:
    world = await make_world(app)
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    created = await act(app, "ann", ann, {"type": "Page", "name": "Binnenplaats",
                                          "audience": world.tribe.actor.ap_id,
                                          "visibility": "members"})
    page_id = created["object"]["id"]
    # Members-only: anonymous 404, the owner's token and a member's token read it.
    assert (await get_json(app, page_id))[0] == 404
    assert (await get_json(app, page_id, ann))[0] == 200
    assert (await get_json(app, page_id, bob))[0] == 200
    # A lane is made over C2S; its activity went to nobody but reads for its owner.
    lane = await act(app, "ann", ann, {"type": "Lane", "context": page_id, "name": "Klaar"})
    assert lane["type"] == "Create" and lane["to"] == []
    status, _doc, headers = await get_json(app, lane["id"])
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    status, doc, _ = await get_json(app, lane["id"], ann)
    assert status == 200 and doc["object"]["name"] == "Klaar"
    assert (await get_json(app, lane["id"], bob))[0] == 404

    task = await act(app, "ann", ann, {"type": "Ticket", "name": "Vegen", "context": page_id})
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Ticket", "id": task["object"]["id"], "lane": "Klaar"}})
    async with app.state.db.session() as db:
        row = await db.scalar(select(Task).where(Task.ap_id == task["object"]["id"]))
        assert row is not None
        lanes = {lane.id: lane.name for lane in await initiative_board.lanes_of(
            db, await db.get(Initiative, row.initiative_id))}
        assert lanes[row.lane_id] == "Klaar"
    offer = await act(app, "bob", bob, {"type": "Offer", "target": task["object"]["id"],
                                        "object": {"type": "Contribution", "hours": 1}})
    await act(app, "ann", ann, {"type": "Accept", "object": offer["object"]["id"]})
    rating = await act(app, "ann", ann, {"type": "Rating", "object": offer["object"]["id"],
                                         "rating": 90, "content": "Prima"})
    assert rating["type"] == "Create"
    async with app.state.db.session() as db:
        found = await db.scalar(select(Rating))
        assert found is not None and found.score == 90 and found.feedback == "Prima"
    # The contribution's id: restricted like its initiative.
    assert (await get_json(app, offer["object"]["id"]))[0] == 404
    assert (await get_json(app, offer["object"]["id"], bob))[0] == 200
