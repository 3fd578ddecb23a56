"""The remote paths of initiatives enforce the same rules as the web: a non-member cannot
start one in a members-only tribe, a blocked person cannot offer, a non-partner cannot
accept an offer. Remote actors are Mastodon-shaped fakes on the routing transport."""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import func, select
from tribe_fed_helpers import PUBLIC, deliver, remote
from tribe_helpers import make_person, make_tribe

from fedi.domain import contributions, initiative_board, initiatives, tribe_moderation
from models import Actor, Contribution, Initiative, Tribe

A = "http://localhost:8001"
PLEIN = f"{A}/tribes/plein"


def _page(actor: Any, number: int) -> dict[str, Any]:
    page_id = actor.server.url(f"/initiatives/{number}")
    return {
        "id": page_id, "type": "Page", "name": "Een speeltuin", "summary": "Voor de kinderen",
        "content": "<p>Plan</p>", "url": page_id, "attributedTo": actor.id, "phase": "idea",
        "to": [PLEIN, PUBLIC], "audience": PLEIN, "context": page_id,
    }


async def _count(app: Any, model: Any) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(select(func.count(model.id))) or 0)


async def test_create_page_needs_membership(two_apps):
    a, _b = two_apps
    _server, mallory = remote(two_apps.router, "localhost:9001", "mallory")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice", join_mode="approval")
    page = _page(mallory, 1)
    create = mallory.activity("Create", page, to=page["to"])
    assert await deliver(a, mallory, create, "/tribes/plein/inbox") == 202
    await drain(a)
    assert await _count(a, Initiative) == 0  # not a member: refused

    # Once a member, the same kind of Create is accepted into the tribe.
    async with a.state.db.session() as db:
        from fedi.domain import tribe_members

        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        person = await db.scalar(select(Actor).where(Actor.ap_id == mallory.id))
        await tribe_members.join(db, a.state.settings, tribe, person)
        alice = await db.scalar(select(Actor).where(Actor.username == "alice"))
        await tribe_members.approve_request(db, a.state.settings, tribe, alice, person)
    page = _page(mallory, 2)
    create = mallory.activity("Create", page, to=page["to"])
    assert await deliver(a, mallory, create, "/tribes/plein/inbox") == 202
    await drain(a)
    async with a.state.db.session() as db:
        stored = await db.scalar(select(Initiative))
        assert stored is not None and stored.ap_id == page["id"] and not stored.local


async def _alice_initiative(a: Any) -> tuple[int, str, int]:
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        alice = await db.scalar(select(Actor).where(Actor.username == "alice"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, alice, name="Moestuin"
        )
        task = await initiative_board.add_task(
            db, a.state.settings, initiative, alice, name="Spitten"
        )
        return initiative.id, task.ap_id or "", task.id


def _offer(actor: Any, task_ap_id: str, number: int) -> dict[str, Any]:
    contribution = {
        "id": actor.server.url(f"/contributions/{number}"), "type": "Contribution",
        "attributedTo": actor.id, "hours": 3, "motivation": "Ik heb een schop",
    }
    return actor.activity("Offer", contribution, target=task_ap_id, to=[PLEIN])


async def test_offer_from_blocked_person_is_refused(two_apps):
    a, _b = two_apps
    _s1, mallory = remote(two_apps.router, "localhost:9001", "mallory")
    _s2, olga = remote(two_apps.router, "localhost:9002", "olga")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    _initiative_id, task_ap_id, _task_id = await _alice_initiative(a)
    # Olga (not blocked) can offer; the tribe then knows mallory too, who gets blocked.
    assert await deliver(a, olga, _offer(olga, task_ap_id, 1), "/users/alice/inbox") == 202
    await drain(a)
    assert await _count(a, Contribution) == 1
    async with a.state.db.session() as db:
        from fedi.federation.remote.actors import get_or_fetch_actor

        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        alice = await db.scalar(select(Actor).where(Actor.username == "alice"))
        person = await get_or_fetch_actor(a.state, db, mallory.id)
        await tribe_moderation.block_actor(db, a.state.settings, tribe, alice, person)
    assert await deliver(a, mallory, _offer(mallory, task_ap_id, 2), "/users/alice/inbox") == 202
    await drain(a)
    assert await _count(a, Contribution) == 1


async def test_accept_by_non_partner_is_ignored(two_apps):
    a, _b = two_apps
    _server, mallory = remote(two_apps.router, "localhost:9001", "mallory")
    await make_person(a, "alice")
    await make_person(a, "carol")
    await make_tribe(a, "plein", "alice")
    initiative_id, _task_ap_id, task_id = await _alice_initiative(a)
    async with a.state.db.session() as db:
        carol = await db.scalar(select(Actor).where(Actor.username == "carol"))
        initiative = await db.get(Initiative, initiative_id)
        offer = await contributions.offer(
            db, a.state.settings, initiative, carol, task_id, hours=2
        )
        offer_id = offer.offer_ap_id
    assert offer_id
    accept = mallory.activity("Accept", {"id": offer_id, "type": "Offer"}, to=[PLEIN])
    assert await deliver(a, mallory, accept, "/users/alice/inbox") == 202
    await drain(a)
    async with a.state.db.session() as db:
        row = await db.scalar(select(Contribution))
        assert row is not None and row.state == "proposed"
