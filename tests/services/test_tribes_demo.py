"""The demo tribes: Plein (open) and Zorginkoop Rotterdam (approval), with their people."""

from __future__ import annotations

from typing import Any

from fedi.demo import DemoContext, seed_residents
from fedi.demo_tribes import seed_tribes
from fedi.domain import tribe_members, tribes


async def test_seed_tribes_after_the_residents(app: Any) -> None:
    async with app.state.db.session() as db:
        ctx = DemoContext(db=db, settings=app.state.settings)
        await seed_residents(ctx)
        await seed_tribes(ctx)
    async with app.state.db.session() as db:
        plein = await tribes.get_tribe(db, "plein")
        zorg = await tribes.get_tribe(db, "zorginkoop")
        assert (plein.name, plein.join_mode) == ("Plein", "open")
        assert (zorg.name, zorg.join_mode) == ("Zorginkoop Rotterdam", "approval")
        roles = {m.actor.username: m.role for m in await tribe_members.list_members(db, plein)}
        assert roles == {
            "fatima": "admin", "sanne": "admin", "henk": "moderator", "joost": "member",
            "lotte": "member", "priya": "member",
        }
        roles = {m.actor.username: m.role for m in await tribe_members.list_members(db, zorg)}
        assert roles == {"ahmed": "admin", "marieke": "moderator", "priya": "member"}
        pending = await tribe_members.list_members(db, zorg, state="pending")
        assert [m.actor.username for m in pending] == ["joost"]
        assert (await tribes.tribe_counts(db, plein)).members == 6
