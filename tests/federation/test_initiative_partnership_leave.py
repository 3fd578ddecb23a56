"""Leaving a partnership federates as ``Leave{Page}``, applied by the same service everywhere.

The scenario of ``initiative_fed_helpers.setup_scenario`` with A (alice's tribe ``plein`` and
carol) on the parametrised database, B (bob, a member) and mia on a Mastodon-shaped fake who
follows the tribe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import AppPair, drain
from initiative_fed_helpers import BOB, PLEIN, PUBLIC, setup_scenario
from restricted_helpers import actor, instances
from sqlalchemy import select
from tribe_fed_helpers import deliver

from fedi.domain import initiative_people, initiatives
from fedi.domain.errors import Forbidden
from fedi.domain.remote_tribes import ensure_remote_tribe
from models import Initiative, InitiativePartner, InitiativeUpdate, Tribe

A = "http://localhost:8001"
ALICE = f"{A}/users/alice"
CAROL = f"{A}/users/carol"


@pytest.fixture
async def pair(tmp_path: Path, db_target: Any) -> Any:
    """A (on the parametrised database) and B."""
    async with instances(tmp_path, db_target) as apps:
        yield apps


async def _partners(app: Any, page_id: str) -> dict[str, str]:
    """Partner rows of the initiative ``page_id`` on ``app``: actor id -> state."""
    async with app.state.db.session() as db:
        found = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        assert found is not None, page_id
        rows = (await db.scalars(
            select(InitiativePartner).where(InitiativePartner.initiative_id == found.id)
        )).unique().all()
        return {row.actor.ap_id: row.state for row in rows}


async def _history(app: Any, page_id: str) -> list[str]:
    async with app.state.db.session() as db:
        found = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        assert found is not None
        return list((await db.scalars(
            select(InitiativeUpdate.kind).where(InitiativeUpdate.initiative_id == found.id)
            .order_by(InitiativeUpdate.id)
        )).all())


async def _alice_initiative(a: Any) -> str:
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        initiative = await initiatives.create_initiative(
            db, a.state.settings, tribe, await actor(db, ALICE), name="Moestuin"
        )
        return initiative.ap_id or ""


async def _become_partner(asker: Any, asker_id: str, decider: Any, decider_id: str,
                          page_id: str, apps: tuple[Any, ...]) -> None:
    """``asker_id`` asks on ``asker``, ``decider_id`` accepts on ``decider``."""
    async with asker.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        await initiative_people.request_partnership(
            db, asker.state.settings, here, await actor(db, asker_id), "Ik help mee"
        )
    await drain(*apps)
    async with decider.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        candidate = await actor(db, asker_id)
        await initiative_people.accept_partner(
            db, decider.state.settings, here, await actor(db, decider_id), candidate.id
        )
    await drain(*apps)


async def test_partner_on_another_server_leaves(pair: AppPair) -> None:
    s = await setup_scenario(pair)
    a, b = s.a, s.b
    page_id = await _alice_initiative(a)
    await drain(a, b)
    await _become_partner(b, BOB, a, ALICE, page_id, (a, b))
    assert (await _partners(a, page_id)).get(BOB) == "active"
    assert (await _partners(b, page_id)).get(BOB) == "active"
    s.server.posts.clear()

    # Bob steps back on B: Leave{Page} to the tribe, the partners and the host.
    async with b.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        await initiative_people.leave_partnership(db, b.state.settings, here, await actor(db, BOB))
    await drain(a, b)
    assert BOB not in await _partners(a, page_id)
    assert BOB not in await _partners(b, page_id)
    assert (await _history(a, page_id))[-1] == "partner_left"
    assert (await _history(b, page_id))[-1] == "partner_left"
    # The tribe distributed the change like any membership change: mia saw the Leave.
    (wrapped,) = [d for d in s.server.received("Announce", "Leave")]
    leave = wrapped["object"]
    assert wrapped["actor"] == PLEIN
    assert leave["actor"] == BOB and leave["object"] == page_id
    assert leave["to"] == [PLEIN, PUBLIC] and ALICE in leave["cc"]
    assert leave["context"] == page_id and leave["audience"] == PLEIN


async def test_partner_on_the_tribe_server_leaves_an_initiative_hosted_elsewhere(
    pair: AppPair,
) -> None:
    s = await setup_scenario(pair)
    a, b = s.a, s.b
    async with b.state.db.session() as db:
        tribe = await ensure_remote_tribe(db, await actor(db, PLEIN))
        initiative = await initiatives.create_initiative(
            db, b.state.settings, tribe, await actor(db, BOB), name="Bankjes"
        )
        page_id = initiative.ap_id or ""
    await drain(a, b)
    await _become_partner(a, CAROL, b, BOB, page_id, (a, b))
    assert (await _partners(b, page_id)).get(CAROL) == "active"

    async with a.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        await initiative_people.leave_partnership(
            db, a.state.settings, here, await actor(db, CAROL)
        )
    await drain(a, b)
    # The host (B) applied it; both copies agree.
    assert await _partners(b, page_id) == {BOB: "active"}
    assert await _partners(a, page_id) == {BOB: "active"}


async def test_remote_leave_follows_the_same_rules(pair: AppPair) -> None:
    """A Mastodon-shaped person asks, is accepted, leaves; a request can be withdrawn; the
    last partner cannot leave; a Leave from somebody who is no partner changes nothing."""
    s = await setup_scenario(pair)
    a, b = s.a, s.b
    page_id = await _alice_initiative(a)
    await drain(a, b)
    mia = s.mia
    join = mia.activity("Join", page_id, content="Mag ik meedoen?")
    assert await deliver(a, mia, join, "/users/alice/inbox") == 202
    await drain(a, b)
    assert (await _partners(a, page_id)).get(mia.id) == "requested"
    # Withdrawing the request: Leave before an answer.
    leave = mia.activity("Leave", page_id)
    assert await deliver(a, mia, leave, "/users/alice/inbox") == 202
    await drain(a, b)
    assert mia.id not in await _partners(a, page_id)
    assert "partner_left" not in await _history(a, page_id)

    # Asked again and accepted, then leaving for real.
    join = mia.activity("Join", page_id, content="Toch wel")
    assert await deliver(a, mia, join, "/users/alice/inbox") == 202
    await drain(a, b)
    async with a.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        await initiative_people.accept_partner(
            db, a.state.settings, here, await actor(db, ALICE), (await actor(db, mia.id)).id
        )
    await drain(a, b)
    assert (await _partners(a, page_id)).get(mia.id) == "active"
    leave = mia.activity("Leave", page_id)
    assert await deliver(a, mia, leave, "/users/alice/inbox") == 202
    await drain(a, b)
    assert await _partners(a, page_id) == {ALICE: "active"}
    # The host handed the change on to the tribe's followers through the tribe.
    assert any(d["object"]["id"] == leave["id"] for d in s.server.received("Announce", "Leave"))

    # A Leave from somebody who is no partner changes nothing.
    stranger = mia.activity("Leave", page_id)
    assert await deliver(a, mia, stranger, "/users/alice/inbox") == 202
    await drain(a, b)
    assert await _partners(a, page_id) == {ALICE: "active"}
    # The last partner cannot leave: the service refuses here...
    async with a.state.db.session() as db:
        here = await db.scalar(select(Initiative).where(Initiative.ap_id == page_id))
        with pytest.raises(Forbidden):
            await initiative_people.leave_partnership(
                db, a.state.settings, here, await actor(db, ALICE)
            )
    # ... and a Leave from the only partner of mia's own initiative is ignored.
    own = mia.server.url("/initiatives/5")
    page = {
        "id": own, "type": "Page", "name": "Schilderen", "summary": "", "content": "",
        "url": own, "attributedTo": mia.id, "phase": "idea", "to": [PLEIN, PUBLIC],
        "audience": PLEIN, "context": own,
    }
    create = mia.activity("Create", page, to=page["to"])
    assert await deliver(a, mia, create, "/tribes/plein/inbox") == 202
    await drain(a, b)
    assert await _partners(a, own) == {mia.id: "active"}
    assert await deliver(a, mia, mia.activity("Leave", own), "/tribes/plein/inbox") == 202
    await drain(a, b)
    assert await _partners(a, own) == {mia.id: "active"}
