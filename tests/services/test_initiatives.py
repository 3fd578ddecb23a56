"""Initiatives: who may start, see, edit, archive and delete them; history and counts."""

from __future__ import annotations

from typing import Any

import pytest

from fedi.domain import initiatives, tribes
from fedi.domain.conversation import timeline
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.initiative_access import can_view, get_initiative, is_partner
from fedi.domain.initiative_board import lanes_of
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import actor_named


async def _call(app: FediApp, initiative_id: int, who: str | None, work: Any) -> Any:
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative_id)
        actor = await actor_named(db, who) if who else None
        return await work(db, item, actor)


async def test_creator_becomes_partner_with_a_backlog_lane_and_history(app: FediApp) -> None:
    world = await make_world(app)
    created = await make_initiative(app, world, tags="Horeca, terrassen", phase="plan")
    assert created.ap_id == f"http://localhost:8000/initiatives/{created.id}"
    async with app.state.db.session() as db:
        item = await get_initiative(db, created.id)
        assert item.tags == ["horeca", "terrassen"]
        assert await is_partner(db, item, await actor_named(db, "ann"))
        assert [lane.name for lane in await lanes_of(db, item)] == ["Backlog"]
        assert [entry.kind for entry in await timeline(db, item)] == ["created"]
        tribe = await tribes.get_tribe(db, "plein")
        assert (await tribes.tribe_counts(db, tribe)).initiatives == 1


@pytest.mark.parametrize(
    ("policy", "who", "allowed"),
    [
        ("members", "bob", True),
        ("members", "cas", False),
        ("admins", "bob", False),
        ("admins", "ann", True),
        ("anyone", "cas", True),
    ],
)
async def test_the_tribe_policy_decides_who_may_start(
    app: FediApp, policy: str, who: str, allowed: bool
) -> None:
    world = await make_world(app, initiative_policy=policy)
    if allowed:
        await make_initiative(app, world, creator=who)
    else:
        with pytest.raises(Forbidden):
            await make_initiative(app, world, creator=who)


async def test_a_remote_person_may_start_one_when_the_policy_allows(app: FediApp) -> None:
    world = await make_world(app, initiative_policy="anyone")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        rik = await actor_named(db, "rik", "remote.example")
        item = await initiatives.create_initiative(
            db, app.state.settings, tribe, rik, name="Van elders",
            ap_id="https://remote.example/pages/1",
        )
        assert item.ap_id == "https://remote.example/pages/1" and not item.local
        assert await is_partner(db, item, rik)
    assert world.rik.domain == "remote.example"


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        ("public", {None: True, "cas": True, "bob": True, "ann": True}),
        ("members", {None: False, "cas": False, "bob": True, "ann": True}),
        ("private", {None: False, "cas": False, "bob": False, "ann": True}),
    ],
)
async def test_visibility(app: FediApp, visibility: str, expected: dict[Any, bool]) -> None:
    world = await make_world(app)
    created = await make_initiative(app, world, visibility=visibility)
    for who, allowed in expected.items():
        async def check(db: Any, item: Any, actor: Any) -> bool:
            return await can_view(db, item, actor)

        assert await _call(app, created.id, who, check) is allowed, who


async def test_only_creator_and_partners_edit_and_changes_are_history(app: FediApp) -> None:
    world = await make_world(app)
    created = await make_initiative(app, world, start_date="2026-01-01", end_date="2026-06-30")
    settings = app.state.settings

    async def edit_as_bob(db: Any, item: Any, actor: Any) -> None:
        await initiatives.update_initiative(db, settings, item, actor, name="Overgenomen")

    with pytest.raises(Forbidden):
        await _call(app, created.id, "bob", edit_as_bob)

    async def edit(db: Any, item: Any, actor: Any) -> list[str]:
        await initiatives.update_initiative(
            db, settings, item, actor, phase="execute", end_date="2026-07-31",
            summary="Nieuw",
        )
        return [entry.kind for entry in await timeline(db, item)]

    kinds = await _call(app, created.id, "ann", edit)
    assert kinds[:3] == ["edited", "date_changed", "phase_changed"]

    async def bad_dates(db: Any, item: Any, actor: Any) -> None:
        await initiatives.update_initiative(db, settings, item, actor, end_date="2025-01-01")

    with pytest.raises(ServiceError) as caught:
        await _call(app, created.id, "ann", bad_dates)
    assert caught.value.field == "end_date"


async def test_field_checks(app: FediApp) -> None:
    world = await make_world(app)
    with pytest.raises(ServiceError) as caught:
        await make_initiative(app, world, summary="x" * 501)
    assert caught.value.field == "summary"
    with pytest.raises(ServiceError):
        await make_initiative(app, world, phase="dream")
    with pytest.raises(ServiceError):
        await make_initiative(app, world, budget_type="money", budget_amount="veel")
    with pytest.raises(ServiceError):
        await make_initiative(app, world, name="   ")


async def test_archive_makes_it_read_only_and_unarchive_reopens(app: FediApp) -> None:
    world = await make_world(app)
    created = await make_initiative(app, world)
    settings = app.state.settings

    async def archive_as(db: Any, item: Any, actor: Any) -> None:
        await initiatives.archive(db, settings, item, actor)

    with pytest.raises(Forbidden):
        await _call(app, created.id, "bob", archive_as)
    await _call(app, created.id, "ann", archive_as)

    async def edit(db: Any, item: Any, actor: Any) -> None:
        await initiatives.update_initiative(db, settings, item, actor, name="Nog eens")

    with pytest.raises(Forbidden):
        await _call(app, created.id, "ann", edit)

    async def unarchive(db: Any, item: Any, actor: Any) -> None:
        await initiatives.archive(db, settings, item, actor, archived=False)

    await _call(app, created.id, "ann", unarchive)
    await _call(app, created.id, "ann", edit)


async def test_delete_leaves_a_tombstone(app: FediApp) -> None:
    world = await make_world(app)
    created = await make_initiative(app, world)
    settings = app.state.settings

    async def delete(db: Any, item: Any, actor: Any) -> None:
        await initiatives.delete_initiative(db, settings, item, actor)

    with pytest.raises(Forbidden):
        await _call(app, created.id, "bob", delete)
    await _call(app, created.id, "ann", delete)
    async with app.state.db.session() as db:
        with pytest.raises(NotFound):
            await get_initiative(db, created.id)
        tribe = await tribes.get_tribe(db, "plein")
        assert (await tribes.tribe_counts(db, tribe)).initiatives == 0
        assert await initiatives.visible_in_tribe(db, tribe, None) == []


async def test_tribe_list_and_activity_respect_visibility(app: FediApp) -> None:
    world = await make_world(app)
    await make_initiative(app, world, name="Open")
    await make_initiative(app, world, name="Leden", visibility="members")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        anonymous = [item.name for item in await initiatives.visible_in_tribe(db, tribe, None)]
        bob = await actor_named(db, "bob")
        member = [item.name for item in await initiatives.visible_in_tribe(db, tribe, bob)]
        activity = await initiatives.tribe_activity(db, tribe, None)
    assert anonymous == ["Open"]
    assert member == ["Leden", "Open"]
    assert {item.name for item, _entry in activity} == {"Open"}
