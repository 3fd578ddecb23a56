"""The set-wise permission and standing reads the member pages use agree with the one-at-a-time
rules they replace (``can_view``, ``is_blocked``, ``membership``, ``partner_row``)."""

from __future__ import annotations

from fedi.domain import initiative_lists, tribes
from fedi.domain.initiative_access import can_view, get_initiative, relation, who_may_view
from fedi.domain.progress import progress_of
from fedi.domain.tribe_access import is_blocked, membership, standing
from fedi.state import FediApp
from models import (
    Contribution,
    InitiativePartner,
    InitiativeSupporter,
    Task,
    TribeBlock,
    utcnow,
)
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named


async def test_who_may_view_agrees_with_can_view(app: FediApp) -> None:
    world = await make_world(app)
    public = await make_initiative(app, world, name="Open")
    members = await make_initiative(app, world, name="Leden", visibility="members")
    private = await make_initiative(app, world, name="Dicht", visibility="private")
    async with app.state.db.session() as db:
        cas = await actor_named(db, "cas")
        # cas is a partner of the members-only initiative (not a member of the tribe);
        # the tribe blocks the remote server of rik.
        db.add(InitiativePartner(initiative_id=members.id, actor_id=cas.id, state="active"))
        db.add(TribeBlock(tribe_id=world.tribe.id, domain="remote.example"))
    async with app.state.db.session() as db:
        people = [
            await actor_named(db, "ann"), await actor_named(db, "bob"),
            await actor_named(db, "cas"), await actor_named(db, "rik", "remote.example"),
        ]
        seen: dict[str, set[str]] = {}
        for item in (public, members, private):
            loaded = await get_initiative(db, item.id)
            expected = {p.id for p in people if await can_view(db, loaded, p)}
            assert await who_may_view(db, loaded, people) == expected
            seen[loaded.name] = {p.username for p in people if p.id in expected}
    assert seen == {
        "Open": {"ann", "bob", "cas"},  # rik's server is blocked
        "Leden": {"ann", "bob", "cas"},  # members, and cas as a partner
        "Dicht": {"ann"},  # the creator is its only partner
    }
    # The tribe page's short list (statements built once per kind of viewer) shows what
    # the paged list shows, to each of them.
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        shown: dict[str, list[str]] = {}
        for person in [None, *people]:
            viewer = await initiative_lists.viewer_in(db, tribe, person)
            short = await initiative_lists.newest_visible(db, tribe, viewer, limit=10)
            full = await initiative_lists.visible_page(db, tribe, viewer, limit=10)
            assert [row.id for row in short] == [item.id for item in full]
            shown[person.username if person else ""] = sorted(row.name for row in short)
    assert shown == {
        "": ["Open"], "ann": ["Dicht", "Leden", "Open"], "bob": ["Leden", "Open"],
        "cas": ["Leden", "Open"], "rik": [],
    }


async def test_standing_and_relation_in_one_statement(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        db.add(InitiativeSupporter(initiative_id=item.id, actor_id=bob.id))
        db.add(TribeBlock(tribe_id=world.tribe.id, domain="remote.example"))
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        loaded = await get_initiative(db, item.id)
        for name, domain in (("ann", None), ("bob", None), ("cas", None),
                             ("rik", "remote.example")):
            person = await actor_named(db, name, domain)
            known = await standing(db, tribe, person)
            row = await membership(db, tribe, person)
            assert (known.member.id if known.member else None) == (row.id if row else None)
            assert known.blocked == await is_blocked(db, tribe, person)
            about = await relation(db, loaded, person)
            assert about.blocked == known.blocked
            assert about.is_partner == (name == "ann")  # the creator is a partner
            assert about.supporter == (name == "bob")
        ann = await standing(db, tribe, await actor_named(db, "ann"))
        assert ann.role == "admin"
        assert (await standing(db, tribe, await actor_named(db, "cas"))).role is None


async def test_progress_in_one_statement(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    first = await make_task(app, item, name="Tellen")
    second = await make_task(app, item, name="Zagen")
    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        cas = await actor_named(db, "cas")
        done = await db.get(Task, second.id)
        assert done is not None
        done.completed_at = utcnow()
        db.add_all([
            Contribution(initiative_id=item.id, task_id=first.id, actor_id=bob.id,
                         state="accepted", hours=3),
            Contribution(initiative_id=item.id, task_id=second.id, actor_id=cas.id,
                         state="accepted", hours=4),
            Contribution(initiative_id=item.id, task_id=second.id, actor_id=bob.id,
                         state="proposed", hours=9),
            InitiativeSupporter(initiative_id=item.id, actor_id=cas.id),
        ])
    async with app.state.db.session() as db:
        numbers = await progress_of(db, await get_initiative(db, item.id))
    assert (numbers.tasks_total, numbers.tasks_done) == (2, 1)
    assert (numbers.contributions_accepted, numbers.contributions_open) == (2, 1)
    assert numbers.hours_accepted == 7
    assert (numbers.partners, numbers.supporters) == (1, 1)
