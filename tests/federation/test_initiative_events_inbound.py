"""A change applied from a remote activity sends nothing back on anyone's behalf.

Mallory (a Mastodon-shaped fake on localhost:9001, a member of alice's tribe ``plein`` on A)
starts an initiative there; alice, on A, becomes her partner through ``Join``/``Accept``.
When mallory then edits the ``Page`` and adds a ``Ticket``, A applies both through the
initiative services, whose events name mallory as the actor: the outgoing subscribers send
nothing (before domain events, a ``federate`` flag did this; alice, the only local partner,
would otherwise be picked to send an ``Update``). Only the tribe hands the received
activities on (FEP-1b12). An edit alice makes herself does go out, from her.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import select
from tribe_fed_helpers import PUBLIC, deliver, remote
from tribe_helpers import make_person, make_tribe

from fedi.domain import initiative_people, initiatives, tribe_members
from fedi.federation.remote.actors import get_or_fetch_actor
from models import Actor, Initiative, InitiativePartner, OutboxActivity, Task, Tribe

A = "http://localhost:8001"
PLEIN = f"{A}/tribes/plein"
ALICE = f"{A}/users/alice"


def _page(actor: Any, name: str) -> dict[str, Any]:
    page_id = actor.server.url("/initiatives/1")
    return {
        "id": page_id, "type": "Page", "name": name, "summary": "Voor de kinderen",
        "content": "<p>Plan</p>", "url": page_id, "attributedTo": actor.id, "phase": "idea",
        "to": [PLEIN, PUBLIC], "audience": PLEIN, "context": page_id,
    }


async def _outbox(app: Any) -> list[tuple[str, str]]:
    """(type, actor) of everything A published, oldest first."""
    async with app.state.db.session() as db:
        rows = (await db.scalars(select(OutboxActivity).order_by(OutboxActivity.id))).all()
        return [(row.type, str(row.payload.get("actor"))) for row in rows]


async def _initiative(app: Any, page_id: str) -> Initiative:
    async with app.state.db.session() as db:
        found = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        assert found is not None
        return found


async def test_remote_changes_are_applied_and_nothing_is_echoed(two_apps: Any) -> None:
    a, _b = two_apps
    server, mallory = remote(two_apps.router, "localhost:9001", "mallory")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        assert tribe is not None
        person = await get_or_fetch_actor(a.state, db, mallory.id)
        await tribe_members.join(db, a.state.settings, tribe, person)

    page = _page(mallory, "Een speeltuin")
    create = mallory.activity("Create", page, to=page["to"])
    assert await deliver(a, mallory, create, "/tribes/plein/inbox") == 202
    await drain(a)
    item = await _initiative(a, page["id"])
    assert not item.local

    # Alice asks to join (a local change: her Join goes to mallory), mallory accepts.
    async with a.state.db.session() as db:
        initiative = await db.get(Initiative, item.id)
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert initiative is not None and alice is not None
        row = await initiative_people.request_partnership(
            db, a.state.settings, initiative, alice, "Ik help graag"
        )
        join_id = row.activity_ap_id
    await drain(a)
    assert join_id and [d["id"] for d in server.received("Join")] == [join_id]
    join = {"id": join_id, "type": "Join", "actor": ALICE, "object": page["id"]}
    accept = mallory.activity("Accept", join, to=[ALICE], cc=[PLEIN])
    assert await deliver(a, mallory, accept, "/users/alice/inbox") == 202
    await drain(a)
    async with a.state.db.session() as db:
        state = await db.scalar(
            select(InitiativePartner.state).where(
                InitiativePartner.initiative_id == item.id,
                InitiativePartner.activity_ap_id == join_id,
            )
        )
        assert state == "active"

    # From here on, mallory's changes are applied here and answered by nobody.
    outbox_before = len(await _outbox(a))
    posts_before = len(server.posts)
    edited = _page(mallory, "Een grotere speeltuin")
    update = mallory.activity("Update", edited, to=edited["to"])
    assert await deliver(a, mallory, update, "/tribes/plein/inbox") == 202
    ticket = {
        "id": mallory.server.url("/tickets/1"), "type": "Ticket", "name": "Zand halen",
        "attributedTo": mallory.id, "context": page["id"], "to": [PLEIN, PUBLIC],
    }
    create_ticket = mallory.activity("Create", ticket, to=[PLEIN, PUBLIC])
    assert await deliver(a, mallory, create_ticket, "/tribes/plein/inbox") == 202
    await drain(a)

    assert (await _initiative(a, page["id"])).name == "Een grotere speeltuin"
    async with a.state.db.session() as db:
        task = await db.scalar(select(Task).where(Task.ap_id == ticket["id"]))
        assert task is not None and task.initiative_id == item.id
    new = (await _outbox(a))[outbox_before:]
    assert new and all(entry == ("Announce", PLEIN) for entry in new), new
    echoed = [doc for _path, doc in server.posts[posts_before:] if doc.get("actor") != PLEIN]
    assert echoed == []

    # A change alice makes herself is hers to send: Update{Page} from her.
    async with a.state.db.session() as db:
        initiative = await db.get(Initiative, item.id)
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert initiative is not None and alice is not None
        await initiatives.update_initiative(
            db, a.state.settings, initiative, alice, summary="Voor alle kinderen"
        )
    await drain(a)
    updates = [d for d in server.received("Update", "Page") if d.get("actor") == ALICE]
    assert len(updates) == 1 and updates[0]["object"]["summary"] == "Voor alle kinderen"
