"""Plain async factories for the initiative tests: a tribe with people and an initiative."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedi.domain import initiative_board, initiatives, tribe_members, tribes
from fedi.domain.initiative_access import get_initiative
from fedi.state import FediApp
from models import Actor, Initiative, Task, Tribe
from tests.tribe_helpers import actor_named, make_person, make_remote, make_tribe


@dataclass
class World:
    """A tribe ``plein`` (admin ``ann``, member ``bob``), outsider ``cas``, remote ``rik``."""

    tribe: Tribe
    ann: Actor
    bob: Actor
    cas: Actor
    rik: Actor


async def make_world(app: FediApp, **tribe_fields: Any) -> World:
    """Create the people and the tribe of ``World``."""
    ann = await make_person(app, "ann")
    bob = await make_person(app, "bob")
    cas = await make_person(app, "cas")
    rik = await make_remote(app, "rik")
    tribe = await make_tribe(app, "plein", "ann", **tribe_fields)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribe_members.join(db, app.state.settings, tribe, await actor_named(db, "bob"))
    return World(tribe, ann, bob, cas, rik)


async def make_initiative(
    app: FediApp, world: World, creator: str = "ann", **fields: Any
) -> Initiative:
    """An initiative in the world's tribe, started by the local person ``creator``."""
    values: dict[str, Any] = {"name": "Terras in de zon", "summary": "Samen het plein."}
    values.update(fields)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, world.tribe.slug)
        person = await actor_named(db, creator)
        return await initiatives.create_initiative(
            db, app.state.settings, tribe, person, **values
        )


async def make_task(
    app: FediApp, initiative: Initiative, by: str = "ann", **fields: Any
) -> Task:
    """A task on the initiative's board, added by the partner ``by``."""
    values: dict[str, Any] = {"name": "Stoelen tellen"}
    values.update(fields)
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        person = await actor_named(db, by)
        return await initiative_board.add_task(db, app.state.settings, item, person, **values)
