"""Tribe rules: creating (names shared with people), editing, finding, counts, policies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tribe_helpers import actor_named, make_person, make_remote, make_tribe

from fedi.domain import tribe_members, tribes
from fedi.domain.accounts import create_user
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from models import Actor, Follow, Tribe, TribeEvent, TribeMember


async def test_create_makes_group_actor_with_keys_and_admin(app: Any) -> None:
    await make_person(app, "fatima")
    tribe = await make_tribe(
        app, "Plein", "fatima", name="Plein", theme="De toekomst van het plein",
        description="Over **terrassen**.", tags="Terrassen, horeca, terrassen",
        location="Den Haag", language="nl", join_mode="approval",
    )
    assert tribe.slug == "plein"
    async with app.state.db.session() as db:
        actor = await db.get(Actor, tribe.actor_id)
        assert actor is not None
        assert actor.type == "Group" and actor.local
        assert actor.ap_id == "http://localhost:8000/tribes/plein"
        assert actor.inbox == actor.ap_id + "/inbox"
        assert actor.followers_url == actor.ap_id + "/followers"
        assert actor.shared_inbox == "http://localhost:8000/inbox"
        assert actor.key_id == actor.ap_id + "#main-key"
        assert actor.public_key_pem and actor.private_key_pem
        assert actor.display_name == "Plein"
        assert actor.manually_approves_followers is True
        row = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        assert row is not None
        assert row.tags == ["terrassen", "horeca"]
        assert "<strong>terrassen</strong>" in row.description_html
        members = (await db.scalars(select(TribeMember))).unique().all()
        assert [(m.actor.username, m.role, m.state) for m in members] == [
            ("fatima", "admin", "active")
        ]
        events = (await db.scalars(select(TribeEvent))).unique().all()
        assert [e.kind for e in events] == ["created"]


@pytest.mark.parametrize("slug", ["fatima", "FATIMA", "admin", "x", "1plein", "pl ein"])
async def test_create_refuses_taken_reserved_or_bad_names(app: Any, slug: str) -> None:
    await make_person(app, "fatima")
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, slug, "fatima", name="Something")
    assert caught.value.field == "slug"


async def test_a_person_cannot_take_a_tribe_name(app: Any) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima")
    async with app.state.db.session() as db:
        with pytest.raises(Conflict):
            await create_user(
                db, app.state.settings, username="plein", email="p@example.org",
                password="Vlinder-tulp-2024!",
            )


async def test_create_checks_fields(app: Any) -> None:
    await make_person(app, "fatima")
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, "plein", "fatima", name="  ")
    assert caught.value.field == "name"
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, "plein", "fatima", join_mode="secret")
    assert caught.value.field == "join_mode"
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, "plein", "fatima", initiative_policy="nobody")
    assert caught.value.field == "initiative_policy"
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, "plein", "fatima", language="xx")
    assert caught.value.field == "language"
    with pytest.raises(ServiceError) as caught:
        await make_tribe(app, "plein", "fatima", tags=",".join(f"t{i}" for i in range(11)))
    assert caught.value.field == "tags"


async def test_only_local_people_create_tribes(app: Any) -> None:
    remote = await make_remote(app, "mo")
    async with app.state.db.session() as db:
        with pytest.raises(Forbidden):
            await tribes.create_tribe(db, app.state.settings, remote, slug="plein", name="Plein")


async def test_only_admins_edit(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_tribe(app, "plein", "fatima")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        henk = await actor_named(db, "henk")
        await tribe_members.join(db, settings, tribe, henk)
        with pytest.raises(Forbidden):
            await tribes.update_tribe(db, settings, tribe, henk, name="Henks plein")
        fatima = await actor_named(db, "fatima")
        await tribes.update_tribe(
            db, settings, tribe, fatima, name="Het Plein", join_mode="invite",
            budget_available="€ 5.000 per jaar", target_area="Centrum",
        )
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        assert tribe.name == "Het Plein"
        assert tribe.join_mode == "invite"
        assert tribe.actor.manually_approves_followers is True
        assert tribe.budget_available == "€ 5.000 per jaar"


async def test_find_list_search_and_tags(app: Any) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein", tags="terrassen", location="Den Haag")
    await make_tribe(app, "zorg", "fatima", name="Zorginkoop Rotterdam", tags="zorg")
    async with app.state.db.session() as db:
        assert [t.slug for t in await tribes.list_tribes(db)] == ["plein", "zorg"]
        assert [t.slug for t in await tribes.list_tribes(db, q="rotter")] == ["zorg"]
        assert [t.slug for t in await tribes.list_tribes(db, q="haag")] == ["plein"]
        assert [t.slug for t in await tribes.list_tribes(db, tag="terrassen")] == ["plein"]
        assert await tribes.tag_cloud(db) == [("terrassen", 1), ("zorg", 1)]
        tribe = await tribes.find_tribe(db, "PLEIN")
        assert tribe is not None
        assert await tribes.find_tribe_by_actor(db, tribe.actor_id) is tribe
        assert await tribes.find_tribe(db, "nope") is None


async def test_counts(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    remote = await make_remote(app, "mo")
    tribe = await make_tribe(app, "plein", "fatima")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribe_members.join(db, app.state.settings, tribe, await actor_named(db, "henk"))
        db.add(Follow(follower_id=remote.id, followed_id=tribe.actor_id,
                      activity_ap_id="https://remote.example/f/1", accepted=True))
        db.add(Follow(follower_id=(await actor_named(db, "henk")).id, followed_id=tribe.actor_id,
                      activity_ap_id="http://localhost:8000/f/2", accepted=False))
        await db.flush()
        counts = await tribes.tribe_counts(db, tribe)
    assert (counts.members, counts.followers, counts.initiatives) == (2, 1, 0)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("anyone", {"admin": True, "member": True, "outsider": True, "remote": True}),
        ("members", {"admin": True, "member": True, "outsider": False, "remote": False}),
        ("admins", {"admin": True, "member": False, "outsider": False, "remote": False}),
    ],
)
async def test_may_start_initiative(app: Any, policy: str, expected: dict[str, bool]) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_person(app, "outsider")
    await make_remote(app, "mo")
    await make_tribe(app, "plein", "fatima", initiative_policy=policy)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribe_members.join(db, app.state.settings, tribe, await actor_named(db, "henk"))
        who = {
            "admin": await actor_named(db, "fatima"),
            "member": await actor_named(db, "henk"),
            "outsider": await actor_named(db, "outsider"),
            "remote": await actor_named(db, "mo", "remote.example"),
        }
        got = {
            key: await tribes.may_start_initiative(db, tribe, actor) for key, actor in who.items()
        }
        assert got == expected
        assert await tribes.may_start_initiative(db, tribe, None) is False


async def test_tribe_creation_setting(app: Any) -> None:
    async with app.state.db.session() as db:
        admin = await create_user(
            db, app.state.settings, username="beheer", email="b@example.org",
            password="Vlinder-tulp-2024!", is_admin=True,
        )
        person = await create_user(
            db, app.state.settings, username="henk", email="h@example.org",
            password="Vlinder-tulp-2024!",
        )
        assert await tribes.get_tribe_creation(db) == "everyone"
        assert await tribes.may_create_tribe(db, person) is True
        assert await tribes.set_tribe_creation(db, " Admins ") == "admins"
        assert await tribes.may_create_tribe(db, person) is False
        assert await tribes.may_create_tribe(db, admin) is True
        assert await tribes.may_create_tribe(db, None) is False
        with pytest.raises(ServiceError):
            await tribes.set_tribe_creation(db, "nobody")
