"""Contributions and the board: offers, decisions, withdrawal, ratings, lanes and tasks."""

from __future__ import annotations

from typing import Any

import pytest

from fedi.domain import contributions, initiative_board, initiative_people, initiatives
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.initiative_access import get_initiative, is_partner
from fedi.domain.progress import progress_of
from fedi.state import FediApp
from models import Notification
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named


async def _as(
    app: FediApp, initiative_id: int, who: str, work: Any, domain: str | None = None
) -> Any:
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative_id)
        return await work(db, item, await actor_named(db, who, domain))


async def _offer(app: FediApp, initiative_id: int, task_id: int, who: str, **kw: Any) -> int:
    domain = kw.pop("domain", None)

    async def work(db: Any, item: Any, actor: Any) -> int:
        made = await contributions.offer(
            db, app.state.settings, item, actor, task_id, hours=kw.pop("hours", 4), **kw
        )
        return made.id

    return int(await _as(app, initiative_id, who, work, domain))


async def _decide(app: FediApp, initiative_id: int, cid: int, who: str, accept: bool = True) -> Any:
    async def work(db: Any, item: Any, actor: Any) -> Any:
        return await contributions.decide(
            db, app.state.settings, item, actor, cid, accept=accept
        )

    return await _as(app, initiative_id, who, work)


async def test_offer_accept_makes_a_partner_and_notifies(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    task = await make_task(app, item)
    cid = await _offer(app, item.id, task.id, "cas", motivation="Ik tel graag")
    with pytest.raises(Forbidden):
        await _decide(app, item.id, cid, "bob")
    decided = await _decide(app, item.id, cid, "ann")
    assert decided.state == "accepted"
    with pytest.raises(Conflict):
        await _decide(app, item.id, cid, "ann")
    async with app.state.db.session() as db:
        loaded = await get_initiative(db, item.id)
        cas = await actor_named(db, "cas")
        assert await is_partner(db, loaded, cas)
        kinds = set(
            (await db.scalars(
                Notification.__table__.select().with_only_columns(Notification.kind)
                .where(Notification.recipient_id == cas.id)
            )).all()
        )
        progress = await progress_of(db, loaded)
    assert "contribution_accepted" in kinds
    assert progress.contributions_accepted == 1 and progress.hours_accepted == 4
    assert progress.partners == 2


async def test_offers_need_a_viewer_an_open_initiative_and_an_open_task(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world, visibility="members")
    task = await make_task(app, item)
    with pytest.raises(NotFound):
        await _offer(app, item.id, task.id, "cas")
    await _offer(app, item.id, task.id, "bob")
    with pytest.raises(Conflict):
        await _offer(app, item.id, task.id, "bob")
    with pytest.raises(ServiceError):
        await _offer(app, item.id, task.id, "ann", hours="")

    async def complete(db: Any, loaded: Any, actor: Any) -> None:
        await initiative_board.complete_task(db, app.state.settings, loaded, actor, task.id)

    await _as(app, item.id, "ann", complete)
    with pytest.raises(Forbidden):
        await _offer(app, item.id, task.id, "ann")

    async def archive(db: Any, loaded: Any, actor: Any) -> None:
        await initiatives.archive(db, app.state.settings, loaded, actor)

    other = await make_task(app, item, name="Ander werk")
    await _as(app, item.id, "ann", archive)
    with pytest.raises(Forbidden):
        await _offer(app, item.id, other.id, "bob")


async def test_a_remote_person_can_offer(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    task = await make_task(app, item)
    cid = await _offer(app, item.id, task.id, "rik", domain="remote.example")
    assert (await _decide(app, item.id, cid, "ann", accept=False)).state == "rejected"
    assert world.rik.local is False


async def test_own_offers_are_decided_by_another_partner_unless_alone(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    task = await make_task(app, item)
    own = await _offer(app, item.id, task.id, "ann")
    assert (await _decide(app, item.id, own, "ann")).state == "accepted"
    cid = await _offer(app, item.id, task.id, "cas")
    await _decide(app, item.id, cid, "ann")
    second = await make_task(app, item, name="Tweede")
    mine = await _offer(app, item.id, second.id, "ann")
    with pytest.raises(Forbidden):
        await _decide(app, item.id, mine, "ann")
    assert (await _decide(app, item.id, mine, "cas")).state == "accepted"


async def test_withdraw_only_by_the_offerer(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    task = await make_task(app, item)
    cid = await _offer(app, item.id, task.id, "cas")

    def withdraw(cid: int) -> Any:
        async def work(db: Any, loaded: Any, actor: Any) -> Any:
            return await contributions.withdraw(db, app.state.settings, loaded, actor, cid)

        return work

    with pytest.raises(Forbidden):
        await _as(app, item.id, "ann", withdraw(cid))
    assert (await _as(app, item.id, "cas", withdraw(cid))).state == "withdrawn"
    with pytest.raises(Conflict):
        await _as(app, item.id, "cas", withdraw(cid))


async def test_ratings(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    task = await make_task(app, item)
    cid = await _offer(app, item.id, task.id, "cas")
    pending = await _offer(app, item.id, task.id, "bob")

    def rate(cid: int, score: Any = 80) -> Any:
        async def work(db: Any, loaded: Any, actor: Any) -> Any:
            return await contributions.rate(
                db, app.state.settings, loaded, actor, cid, score=score, feedback="Top"
            )

        return work

    with pytest.raises(Forbidden):  # not accepted yet
        await _as(app, item.id, "ann", rate(cid))
    await _decide(app, item.id, cid, "ann")
    with pytest.raises(Forbidden):  # not a partner
        await _as(app, item.id, "bob", rate(cid))
    with pytest.raises(Forbidden):  # own contribution
        await _as(app, item.id, "cas", rate(cid))
    with pytest.raises(ServiceError):
        await _as(app, item.id, "ann", rate(cid, 101))
    assert (await _as(app, item.id, "ann", rate(cid))).score == 80
    assert (await _as(app, item.id, "ann", rate(cid, 90))).score == 90
    with pytest.raises(Forbidden):
        await _as(app, item.id, "ann", rate(pending))


async def test_board_is_for_partners_and_keeps_order(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    settings = app.state.settings
    with pytest.raises(Forbidden):
        await make_task(app, item, by="bob")
    first = await make_task(app, item, name="Een")
    second = await make_task(app, item, name="Twee")

    async def work(db: Any, loaded: Any, actor: Any) -> list[list[str]]:
        doing = await initiative_board.create_lane(db, settings, loaded, actor, "Bezig")
        await initiative_board.move_task(
            db, settings, loaded, actor, second.id, lane_id=doing.id, position=0
        )
        await initiative_board.move_task(
            db, settings, loaded, actor, first.id, lane_id=doing.id, position=0
        )
        await initiative_board.complete_task(db, settings, loaded, actor, first.id)
        await initiative_board.reopen_task(db, settings, loaded, actor, first.id)
        await initiative_board.delete_lane(db, settings, loaded, actor, doing.id)
        return [[t.name for t in lane.tasks] for lane in await initiative_board.board(db, loaded)]

    assert await _as(app, item.id, "ann", work) == [["Een", "Twee"]]

    async def bob_moves(db: Any, loaded: Any, actor: Any) -> None:
        lanes = await initiative_board.lanes_of(db, loaded)
        await initiative_board.move_task(db, settings, loaded, actor, first.id, lane_id=lanes[0].id)

    with pytest.raises(Forbidden):
        await _as(app, item.id, "bob", bob_moves)

    async def last_lane(db: Any, loaded: Any, actor: Any) -> None:
        lanes = await initiative_board.lanes_of(db, loaded)
        await initiative_board.delete_lane(db, settings, loaded, actor, lanes[0].id)

    with pytest.raises(Forbidden):
        await _as(app, item.id, "ann", last_lane)

    async def delete(db: Any, loaded: Any, actor: Any) -> int:
        await initiative_board.delete_task(db, settings, loaded, actor, first.id)
        return len(await initiative_board.tasks_of(db, loaded))

    assert await _as(app, item.id, "ann", delete) == 1


async def test_partnership_requests(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    settings = app.state.settings

    async def request(db: Any, loaded: Any, actor: Any) -> None:
        await initiative_people.request_partnership(db, settings, loaded, actor, "Mag ik?")

    await _as(app, item.id, "cas", request)

    async def accept_as(db: Any, loaded: Any, actor: Any) -> None:
        cas = await actor_named(db, "cas")
        await initiative_people.accept_partner(db, settings, loaded, actor, cas.id)

    with pytest.raises(Forbidden):
        await _as(app, item.id, "bob", accept_as)
    await _as(app, item.id, "ann", accept_as)
    with pytest.raises(Conflict):
        await _as(app, item.id, "cas", request)

    async def leave(db: Any, loaded: Any, actor: Any) -> None:
        await initiative_people.leave_partnership(db, settings, loaded, actor)

    await _as(app, item.id, "cas", leave)
    with pytest.raises(Forbidden):
        await _as(app, item.id, "ann", leave)


async def test_support_and_unsupport(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world, visibility="private")
    settings = app.state.settings

    async def support(db: Any, loaded: Any, actor: Any) -> None:
        await initiative_people.support(db, settings, loaded, actor)

    with pytest.raises(NotFound):
        await _as(app, item.id, "bob", support)
    public = await make_initiative(app, world)
    await _as(app, public.id, "bob", support)
    await _as(app, public.id, "bob", support)  # idempotent
    async with app.state.db.session() as db:
        loaded = await get_initiative(db, public.id)
        assert (await progress_of(db, loaded)).supporters == 1
        await initiative_people.unsupport(db, settings, loaded, await actor_named(db, "bob"))
        assert (await progress_of(db, loaded)).supporters == 0
