"""Invitations by e-mail and by link over C2S (``Invite`` of ``mailto:`` URIs, ``Invite``
without object) and revoking them (``Undo{Invite}``), through the services of the tribe's
and the initiative's invitation forms, with their permission checks."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import AS, act, get_json, post, refused, token_of
from sqlalchemy import select

from fedi.domain.tribe_access import membership
from models import Report, TribeInvite
from tests.initiative_helpers import make_initiative, make_world

pytestmark = pytest.mark.db


async def _invites(app: Any) -> list[TribeInvite]:
    async with app.state.db.session() as db:
        return list((await db.scalars(select(TribeInvite).order_by(TribeInvite.id))).all())


async def test_mail_and_link_invitations(app: Any) -> None:
    world = await make_world(app)
    group = world.tribe.actor.ap_id
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")

    mailed = await act(app, "ann", ann, {"type": "Invite", "object": "mailto:Dirk@Example.org",
                                         "target": group})
    assert mailed["type"] == "Invite" and mailed["target"] == group
    assert mailed["object"] == ["mailto:dirk@example.org"]
    [invite] = await _invites(app)
    assert invite.kind == "email" and invite.email == "dirk@example.org"
    assert invite.state == "open"
    # The record is the author's own, with their token.
    assert (await get_json(app, mailed["id"], ann))[0] == 200

    # A member who is no admin may not invite, nor revoke.
    await refused(app, "bob", bob, {"type": "Invite", "object": "mailto:eva@example.org",
                                    "target": group}, 403)
    await refused(app, "bob", bob, {"type": "Undo", "object": mailed["id"]}, 403)
    # A wrong address is refused as the form refuses it.
    await refused(app, "ann", ann, {"type": "Invite", "object": "mailto:geen-adres",
                                    "target": group}, 400)

    await act(app, "ann", ann, {"type": "Undo", "object": mailed["id"]})
    assert [i.state for i in await _invites(app)] == ["revoked"]

    # An invitation link: the answer's url is the link; revoked by the embedded Invite.
    link = await act(app, "ann", ann, {"type": "Invite", "target": group, "pu:maxUses": 5})
    assert "/tribes/plein/join/" in link["url"]
    created = (await _invites(app))[-1]
    assert created.kind == "link" and created.max_uses == 5 and created.state == "open"
    await act(app, "ann", ann, {"type": "Undo", "object": {
        "type": "Invite", "target": group, "url": link["url"]}})
    assert (await _invites(app))[-1].state == "revoked"
    await refused(app, "ann", ann, {"type": "Undo", "object": link["id"]}, 404)


async def test_initiative_mail_invitation(app: Any) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    ann, cas = await token_of(app, "ann"), await token_of(app, "cas")
    done = await act(app, "ann", ann, {
        "type": "Invite", "object": ["mailto:eva@example.org", "mailto:fem@example.org"],
        "target": initiative.ap_id})
    assert done["object"] == ["mailto:eva@example.org", "mailto:fem@example.org"]
    assert done["target"] == initiative.ap_id
    # Only its creator and partners invite to an initiative.
    await refused(app, "cas", cas, {"type": "Invite", "object": "mailto:gijs@example.org",
                                    "target": initiative.ap_id}, 403)
    # Without a mailto: object an initiative has nothing to invite to.
    await refused(app, "ann", ann, {"type": "Invite", "target": initiative.ap_id}, 400)


async def test_tribe_outbox_mail_invitation_and_report(app: Any) -> None:
    """The tribe's own outbox takes them too, with the tribe implied."""
    world = await make_world(app)
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann, {
        "@context": AS, "type": "Invite", "object": "mailto:hans@example.org"})
    assert status == 201, doc
    [invite] = await _invites(app)
    assert invite.email == "hans@example.org" and invite.state == "open"
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann, {
        "@context": AS, "type": "Undo", "object": doc["id"]})
    assert status == 201, doc
    assert [i.state for i in await _invites(app)] == ["revoked"]
    flag = await act(app, "bob", bob, {"type": "Flag", "object": [world.rik.ap_id],
                                       "target": world.tribe.actor.ap_id})
    status, doc, _ = await post(app, "/tribes/plein/outbox", ann, {
        "@context": AS, "type": "Accept", "object": flag["id"]})
    assert status == 201, doc
    async with app.state.db.session() as db:
        report = await db.scalar(select(Report))
        assert report is not None and report.state == "resolved"


async def test_withdraw_invitation_of_a_person(app: Any) -> None:
    """``Undo{Invite}`` of a person not yet answered: the members page's remove button."""
    world = await make_world(app)
    group = world.tribe.actor.ap_id
    ann, bob = await token_of(app, "ann"), await token_of(app, "bob")
    await act(app, "ann", ann, {"type": "Invite", "object": world.cas.ap_id, "target": group})
    embedded = {"type": "Invite", "object": world.cas.ap_id, "target": group}
    await refused(app, "bob", bob, {"type": "Undo", "object": embedded}, 403)
    await act(app, "ann", ann, {"type": "Undo", "object": embedded})
    async with app.state.db.session() as db:
        assert await membership(db, world.tribe, world.cas) is None
    await refused(app, "ann", ann, {"type": "Undo", "object": embedded}, 404)
