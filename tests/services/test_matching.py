"""Talent matching both ways, with local and remote people."""

from __future__ import annotations

from fedi.domain import matching
from fedi.domain.initiative_access import get_initiative
from fedi.domain.initiative_board import get_task
from fedi.domain.talents import set_talents
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named


def test_talents_from_an_actor_document() -> None:
    doc = {
        "tag": [
            {"type": "Hashtag", "name": "#Zorg_inkoop", "href": "https://x/tags/zorg"},
            {"type": "Mention", "name": "@a@b"},
            {"type": "Hashtag", "name": "#horeca"},
            {"type": "Hashtag", "name": "#horeca"},
        ]
    }
    assert matching.talents_from_document(doc) == ["zorg inkoop", "horeca"]
    assert matching.talents_from_document({"tag": {"type": "Hashtag", "name": "#a"}}) == ["a"]
    assert matching.talents_from_document({}) == []


async def test_both_directions_with_local_and_remote_people(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world, tags="horeca")
    task = await make_task(app, item, tags="tellen, horeca")
    hidden = await make_initiative(app, world, name="Geheim", tags="tellen", visibility="private")
    await make_task(app, hidden, tags="tellen")
    async with app.state.db.session() as db:
        cas = await actor_named(db, "cas")
        await set_talents(db, cas, ["tellen"])
        rik = await actor_named(db, "rik", "remote.example")
        rik.raw = {"tag": [{"type": "Hashtag", "name": "#Horeca"}]}
        assert await matching.sync_remote_talents(db, rik) == ["horeca"]
    async with app.state.db.session() as db:
        cas = await actor_named(db, "cas")
        found = await matching.needs_your_talents(db, cas)
        assert [m.initiative.name for m in found] == ["Terras in de zon"]
        assert [(t.name, tags) for t, tags in found[0].tasks] == [("Stoelen tellen", ["tellen"])]
        loaded = await get_initiative(db, item.id)
        loaded_task = await get_task(db, loaded, task.id)
        people = await matching.who_could_help(db, loaded, loaded_task)
        assert sorted(p.username for p, _tags in people) == ["cas", "rik"]
        assert {p.username: tags for p, tags in people}["rik"] == ["horeca"]
