"""Tribes over the C2S outbox: creating and editing one, joining (open and by approval),
leaving, invitations, moderation (Block, Undo, Remove, Flag), and the tribe's own outbox
for its admins, all through the services of the tribe pages."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import AS, act, post, refused, token_of
from sqlalchemy import select

from fedi.domain import tribes
from fedi.domain.tribe_access import membership
from fedi.domain.tribe_posts import hold_post
from models import HeldPost, Report, Tribe, TribeBlock
from tests.tribe_helpers import actor_named, make_person, make_remote

pytestmark = pytest.mark.db


async def _state_of(app: Any, slug: str, name: str) -> str | None:
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, slug)
        row = await membership(db, tribe, await actor_named(db, name))
        return row.state if row is not None else None


async def _tribe(app: Any, slug: str) -> Tribe:
    async with app.state.db.session() as db:
        return await tribes.get_tribe(db, slug)


async def test_create_edit_join_leave_invite(app: Any) -> None:
    for name in ("ann", "bob", "cas"):
        await make_person(app, name)
    ann, bob, cas = [await token_of(app, n) for n in ("ann", "bob", "cas")]
    created = await act(app, "ann", ann, {"type": "Group", "preferredUsername": "plein",
                                          "name": "Het Plein", "summary": "Over het plein",
                                          "joinMode": "approval", "tag": ["groen"]})
    assert created["type"] == "Create"
    tribe = await _tribe(app, "plein")
    group_id = tribe.actor.ap_id
    assert tribe.name == "Het Plein" and tribe.join_mode == "approval"
    assert tribe.tags == ["groen"]
    assert await _state_of(app, "plein", "ann") == "active"

    # bob asks to join; ann accepts the embedded Join; bob leaves.
    await act(app, "bob", bob, {"type": "Join", "object": group_id, "content": "Mag ik?"})
    assert await _state_of(app, "plein", "bob") == "pending"
    bob_id = (await _tribe(app, "plein")).actor.ap_id.replace("/tribes/plein", "/users/bob")
    await act(app, "ann", ann, {"type": "Accept",
                                "object": {"type": "Join", "actor": bob_id, "object": group_id}})
    assert await _state_of(app, "plein", "bob") == "active"
    await act(app, "bob", bob, {"type": "Leave", "object": group_id})
    assert await _state_of(app, "plein", "bob") is None

    # Only an admin edits; the terms present change.
    await refused(app, "bob", bob, {"type": "Update", "object": {
        "type": "Group", "id": group_id, "name": "Van bob"}}, 403)
    await act(app, "ann", ann, {"type": "Update", "object": {
        "type": "Group", "id": group_id, "name": "Het Groene Plein", "joinMode": "open"}})
    tribe = await _tribe(app, "plein")
    assert tribe.name == "Het Groene Plein" and tribe.join_mode == "open"
    assert tribe.description_source == "Over het plein"

    # An invitation, accepted by the invited person (the embedded Invite).
    await act(app, "ann", ann, {"type": "Invite", "object": bob_id.replace("bob", "cas"),
                                "target": group_id})
    assert await _state_of(app, "plein", "cas") == "invited"
    await act(app, "cas", cas, {"type": "Accept", "object": {
        "type": "Invite", "object": bob_id.replace("bob", "cas"), "target": group_id}})
    assert await _state_of(app, "plein", "cas") == "active"


async def test_moderation_over_c2s(app: Any) -> None:
    for name in ("ann", "bob"):
        await make_person(app, name)
    rik = await make_remote(app, "rik")
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    await act(app, "ann", ann, {"type": "Group", "preferredUsername": "plein", "name": "Plein"})
    group_id = (await _tribe(app, "plein")).actor.ap_id
    await act(app, "bob", bob, {"type": "Join", "object": group_id})

    # bob (a member, no moderator) may not block; ann blocks rik and a domain, then lifts one.
    await refused(app, "bob", bob, {"type": "Block", "object": rik.ap_id,
                                    "target": group_id}, 403)
    block = await act(app, "ann", ann, {"type": "Block", "object": rik.ap_id,
                                        "target": group_id, "content": "spam"})
    await act(app, "ann", ann, {"type": "Block", "object": "spam.example",
                                "target": f"{group_id}/members"})
    async with app.state.db.session() as db:
        blocks = (await db.scalars(select(TribeBlock))).all()
        assert {(b.actor_ap_id, b.domain) for b in blocks} == {
            (rik.ap_id, None), (None, "spam.example")}
    await act(app, "ann", ann, {"type": "Undo", "object": block["id"]})
    async with app.state.db.session() as db:
        left = (await db.scalars(select(TribeBlock))).all()
        assert [b.domain for b in left] == ["spam.example"]
    # A Block without a tribe is refused with a reason.
    doc = await refused(app, "ann", ann, {"type": "Block", "object": rik.ap_id}, 400)
    assert "tribe" in doc["error"]

    # Remove of a member: an admin takes bob out.
    bob_id = group_id.replace("/tribes/plein", "/users/bob")
    await act(app, "ann", ann, {"type": "Remove", "object": bob_id, "target": group_id})
    assert await _state_of(app, "plein", "bob") in (None, "removed")

    # Flag to the instance's admins (no tribe) and the check of its object.
    await act(app, "bob", bob, {"type": "Flag", "object": [rik.ap_id], "content": "spam"})
    async with app.state.db.session() as db:
        report = await db.scalar(select(Report))
        assert report is not None and report.target_ap_ids == [rik.ap_id]
        assert report.comment == "spam"
    await refused(app, "bob", bob, {"type": "Flag", "object": "x"}, 400)


async def test_the_tribe_outbox_is_for_its_admins(app: Any) -> None:
    for name in ("ann", "bob"):
        await make_person(app, name)
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    await act(app, "ann", ann, {"type": "Group", "preferredUsername": "plein", "name": "Plein"})
    group_id = (await _tribe(app, "plein")).actor.ap_id
    await act(app, "bob", bob, {"type": "Join", "object": group_id})

    body = {"@context": AS, "type": "Update", "object": {"type": "Group", "name": "Het Plein"}}
    status, doc, headers = await post(app, "/tribes/plein/outbox", None, body)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, doc, _ = await post(app, "/tribes/plein/outbox", bob, body)
    assert status == 403 and "admins" in doc["error"]
    status, doc, headers = await post(app, "/tribes/plein/outbox", ann, body)
    assert status == 201, doc
    assert doc["type"] == "Update" and headers["Location"] == doc["id"]
    assert (await _tribe(app, "plein")).name == "Het Plein"
    # Anything else is refused with what is accepted.
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann,
                                {"type": "Like", "object": group_id})
    assert status == 400 and "Update{Group}" in doc["error"]
    # Moderation through the tribe's outbox names the tribe implicitly.
    rik = await make_remote(app, "rik")
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann,
                                {"type": "Block", "object": rik.ap_id})
    assert status == 201, doc
    status, doc, _ = await post(app, "/tribes/nope/outbox", ann, body)
    assert status == 404


async def test_roles_and_held_posts_over_c2s(app: Any) -> None:
    for name in ("ann", "bob"):
        await make_person(app, name)
    rik = await make_remote(app, "rik")
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    await act(app, "ann", ann, {"type": "Group", "preferredUsername": "plein", "name": "Plein"})
    group_id = (await _tribe(app, "plein")).actor.ap_id
    bob_id = group_id.replace("/tribes/plein", "/users/bob")
    await act(app, "bob", bob, {"type": "Join", "object": group_id})

    # Lemmy's form: Add to / Remove from the moderators collection sets the role.
    await act(app, "ann", ann, {"type": "Add", "object": bob_id,
                                "target": f"{group_id}/moderators"})
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        row = await membership(db, tribe, await actor_named(db, "bob"))
        assert row is not None and row.role == "moderator"
    await act(app, "ann", ann, {"type": "Remove", "object": bob_id,
                                "target": f"{group_id}/moderators"})
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        row = await membership(db, tribe, await actor_named(db, "bob"))
        assert row is not None and row.role == "member" and row.state == "active"

    # A post held for the moderators: Reject of the held Create declines it.
    held_id = "https://remote.example/activities/held-1"
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await hold_post(db, tribe, await db.merge(rik), {
            "id": held_id, "type": "Create", "actor": rik.ap_id,
            "object": {"id": "https://remote.example/notes/1", "type": "Note",
                       "content": "Koop nu!"}})
    await refused(app, "bob", bob, {"type": "Reject", "object": held_id}, 403)
    await act(app, "ann", ann, {"type": "Reject", "object": held_id})
    async with app.state.db.session() as db:
        held = await db.scalar(select(HeldPost))
        assert held is not None and held.state == "rejected"


async def test_the_tribe_outbox_acts_on_its_own_tribe_only(app: Any) -> None:
    for name in ("ann", "bob"):
        await make_person(app, name)
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    await act(app, "ann", ann, {"type": "Group", "preferredUsername": "plein", "name": "Plein"})
    await act(app, "ann", ann, {"type": "Group", "preferredUsername": "haven", "name": "Haven"})
    plein = (await _tribe(app, "plein")).actor.ap_id
    haven = (await _tribe(app, "haven")).actor.ap_id
    await act(app, "bob", bob, {"type": "Join", "object": plein})
    bob_id = plein.replace("/tribes/plein", "/users/bob")
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann, {
        "type": "Add", "object": bob_id, "target": f"{plein}/moderators"})
    assert status == 201, doc
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann, {
        "type": "Block", "object": "spam.example", "target": haven})
    assert status == 400 and "own tribe" in doc["error"]
    # Now a moderator, bob may post to the tribe's outbox (moderation), not edit the tribe.
    status, doc, _ = await post(app, "/tribes/plein/outbox", bob, {
        "type": "Block", "object": "spam.example"})
    assert status == 201, doc
    status, doc, _ = await post(app, "/tribes/plein/outbox", bob, {
        "type": "Update", "object": {"type": "Group", "name": "Van bob"}})
    assert status == 403
