"""Invitations (links, e-mail, people) and moderation (blocks, held posts, reports)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tribe_helpers import actor_named, make_person, make_remote, make_tribe

from fedi.domain import tribe_invites, tribe_members, tribe_moderation, tribes
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from fedi.domain.tribe_access import is_blocked, role_of
from models import TribeInvite, utcnow


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def test_invite_link_admits_until_used_up(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_person(app, "ans")
    await make_tribe(app, "plein", "fatima", join_mode="invite")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        with pytest.raises(Forbidden):
            await tribe_invites.create_invite_link(db, settings, tribe, henk)
        with pytest.raises(ServiceError):
            await tribe_invites.create_invite_link(db, settings, tribe, fatima, max_uses=0)
        link = await tribe_invites.create_invite_link(db, settings, tribe, fatima, max_uses=1)
        assert link.startswith("http://localhost:8000/tribes/plein/join/")
        token = token_of(link)
        assert await tribe_invites.find_token_invite(db, tribe, token) is not None
        member = await tribe_members.join(db, settings, tribe, henk, invite_token=token)
        assert member.state == "active"
        ans = await actor_named(db, "ans")
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, ans, invite_token=token)
        assert await tribe_invites.list_invites(db, tribe) == []


async def test_expired_and_revoked_links_do_not_work(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_tribe(app, "plein", "fatima", join_mode="invite")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        old = token_of(await tribe_invites.create_invite_link(db, settings, tribe, fatima))
        revoked = token_of(await tribe_invites.create_invite_link(db, settings, tribe, fatima))
        invites = await tribe_invites.list_invites(db, tribe)
        assert len(invites) == 2
        newest, oldest = invites
        oldest.expires_at = utcnow() - timedelta(minutes=1)
        await tribe_invites.revoke_invite(db, settings, tribe, fatima, newest.id)
        for token in (old, revoked):
            with pytest.raises(Forbidden):
                await tribe_members.join(db, settings, tribe, henk, invite_token=token)


async def test_email_invitation_is_claimed_by_its_owner(app: Any) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "zorg", "fatima", join_mode="invite")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "zorg")
        fatima = await actor_named(db, "fatima")
        link = await tribe_invites.invite_email(db, settings, tribe, fatima, " Kees@Example.org ")
        assert "/tribes/zorg/join/" in link
        with pytest.raises(ServiceError):
            await tribe_invites.invite_email(db, settings, tribe, fatima, "not an address")
    kees = await make_person(app, "kees")  # registers with kees@example.org
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "zorg")
        claimed = await tribe_invites.claim_email_invites(db, settings, kees, "kees@example.org")
        assert [(m.actor_id, m.state) for m in claimed] == [(kees.id, "invited")]
        assert await tribe_invites.claim_email_invites(db, settings, kees, "kees@example.org") == []
        kees_actor = await actor_named(db, "kees")
        assert (await tribe_members.join(db, settings, tribe, kees_actor)).state == "active"
        invite = (await db.scalars(TribeInvite.__table__.select())).first()
        assert invite is not None


async def test_invite_people_and_decline(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_remote(app, "mo")
    await make_tribe(app, "plein", "fatima", join_mode="approval")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        mo = await actor_named(db, "mo", "remote.example")
        await tribe_members.join(db, settings, tribe, henk)
        # Inviting someone who asked approves them.
        admitted = await tribe_invites.invite_actor(db, settings, tribe, fatima, henk)
        assert admitted.state == "active"
        with pytest.raises(Conflict):
            await tribe_invites.invite_actor(db, settings, tribe, fatima, henk)
        invited = await tribe_invites.invite_actor(db, settings, tribe, fatima, mo)
        assert invited.state == "invited"
        await tribe_members.leave(db, settings, tribe, mo)  # declines
        assert await tribe_members.list_members(db, tribe, state="invited") == []


def test_parse_invite_entries() -> None:
    entries = tribe_invites.parse_invite_entries(
        "@mo@remote.example, henk\nkees@example.org; @ bad@ kees@example.org"
    )
    assert entries.handles == ["mo@remote.example", "henk"]
    assert entries.emails == ["kees@example.org"]
    assert entries.invalid == ["@", "bad@"]


async def test_block_person_and_domain(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_person(app, "ans")
    await make_remote(app, "mo")
    await make_remote(app, "zoe", "other.example:8443")
    await make_tribe(app, "plein", "fatima")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        ans = await actor_named(db, "ans")
        mo = await actor_named(db, "mo", "remote.example")
        zoe = await actor_named(db, "zoe", "other.example:8443")
        for person in (henk, ans, mo, zoe):
            await tribe_members.join(db, settings, tribe, person)
        await tribe_members.set_role(db, settings, tribe, fatima, henk, "moderator")
        with pytest.raises(Forbidden):
            await tribe_moderation.block_actor(db, settings, tribe, ans, mo)
        with pytest.raises(Forbidden):
            await tribe_moderation.block_actor(db, settings, tribe, henk, fatima)
        await tribe_moderation.block_actor(db, settings, tribe, henk, ans, reason="spam")
        assert await role_of(db, tribe, ans) is None
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, ans)
        await tribe_moderation.block_domain(db, settings, tribe, henk, "https://remote.example/x")
        assert await role_of(db, tribe, mo) is None
        assert await is_blocked(db, tribe, mo)
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, mo)
        # A block of a domain covers every port of it.
        await tribe_moderation.block_domain(db, settings, tribe, fatima, "other.example")
        assert await role_of(db, tribe, zoe) is None
        with pytest.raises(ServiceError):
            await tribe_moderation.block_domain(db, settings, tribe, fatima, "localhost:8000")
        with pytest.raises(ServiceError):
            await tribe_moderation.block_domain(db, settings, tribe, fatima, "not a domain!")
        blocks = await tribe_moderation.list_blocks(db, tribe)
        assert len(blocks) == 3
        for block in blocks:
            await tribe_moderation.unblock(db, settings, tribe, fatima, block.id)
        assert not await is_blocked(db, tribe, mo)
        assert (await tribe_members.join(db, settings, tribe, mo)).state == "active"


async def test_held_posts_and_reports(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_remote(app, "mo")
    await make_tribe(app, "plein", "fatima", join_mode="approval")
    settings = app.state.settings
    activity = {
        "id": "https://remote.example/notes/1/activity", "type": "Create",
        "actor": "https://remote.example/users/mo",
        "object": {"id": "https://remote.example/notes/1", "type": "Note", "content": "Hoi"},
    }
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        mo = await actor_named(db, "mo", "remote.example")
        held = await tribe_moderation.hold_post(db, tribe, mo, activity)
        assert held.object_ap_id == "https://remote.example/notes/1"
        assert (await tribe_moderation.hold_post(db, tribe, mo, activity)).id == held.id
        assert [h.id for h in await tribe_moderation.list_held_posts(db, tribe)] == [held.id]
        with pytest.raises(Forbidden):
            await tribe_moderation.decide_held_post(db, settings, tribe, henk, held.id, True)
        decided = await tribe_moderation.decide_held_post(
            db, settings, tribe, fatima, held.id, True
        )
        assert decided.state == "approved" and decided.decided_by_id == fatima.id
        with pytest.raises(Conflict):
            await tribe_moderation.decide_held_post(db, settings, tribe, fatima, held.id, False)

        report = await tribe_moderation.file_report(
            db, settings, mo, target_ap_ids=["https://remote.example/notes/1"], comment="spam",
            tribe=tribe, activity_id="https://remote.example/flags/1",
        )
        again = await tribe_moderation.file_report(
            db, settings, mo, target_ap_ids=["x"], tribe=tribe,
            activity_id="https://remote.example/flags/1",
        )
        assert again.id == report.id
        with pytest.raises(ServiceError):
            await tribe_moderation.file_report(db, settings, henk, target_ap_ids=[], tribe=tribe)
        assert [r.id for r in await tribe_moderation.list_reports(db, tribe)] == [report.id]
        with pytest.raises(Forbidden):
            await tribe_moderation.resolve_report(db, settings, tribe, henk, report.id)
        await tribe_moderation.resolve_report(db, settings, tribe, fatima, report.id)
        assert await tribe_moderation.list_reports(db, tribe) == []
