"""Membership rules: join per mode, requests, leaving, the last admin, removal and roles."""

from __future__ import annotations

from typing import Any

import pytest
from tribe_helpers import actor_named, make_person, make_remote, make_tribe

from fedi.domain import events, tribe_members, tribes
from fedi.domain.errors import Conflict, Forbidden, NotFound
from fedi.domain.events_tribes import MembershipEvent, RoleChanged
from fedi.domain.tribe_access import role_of


async def _setup(app: Any, join_mode: str) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_person(app, "ans")
    await make_remote(app, "mo")
    await make_tribe(app, "plein", "fatima", join_mode=join_mode)


async def test_open_tribe_admits_local_and_remote_people_at_once(app: Any) -> None:
    await _setup(app, "open")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        henk = await actor_named(db, "henk")
        mo = await actor_named(db, "mo", "remote.example")
        member = await tribe_members.join(db, settings, tribe, henk, message="Hoi")
        assert (member.state, member.role) == ("active", "member")
        assert member.joined_at is not None
        remote = await tribe_members.join(
            db, settings, tribe, mo, activity_id="https://remote.example/follows/1"
        )
        assert remote.state == "active"
        assert remote.activity_ap_id == "https://remote.example/follows/1"
        # A repeated Follow keeps the membership and remembers the new activity to answer.
        again = await tribe_members.join(
            db, settings, tribe, mo, activity_id="https://remote.example/follows/2"
        )
        assert again.id == remote.id and again.activity_ap_id.endswith("/2")
        assert await role_of(db, tribe, mo) == "member"


async def test_approval_tribe_makes_requests_that_moderators_decide(app: Any) -> None:
    await _setup(app, "approval")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        ans = await actor_named(db, "ans")
        mo = await actor_named(db, "mo", "remote.example")
        assert (await tribe_members.join(db, settings, tribe, henk, message="Buurman")).state == (
            "pending"
        )
        await tribe_members.join(db, settings, tribe, mo, activity_id="https://remote.example/f")
        await tribe_members.join(db, settings, tribe, ans)
        assert await role_of(db, tribe, henk) is None
        pending = await tribe_members.list_members(db, tribe, state="pending")
        assert [m.actor.username for m in pending] == ["henk", "mo", "ans"]
        # A pending person cannot decide on others.
        with pytest.raises(Forbidden):
            await tribe_members.approve_request(db, settings, tribe, henk, mo)
        await tribe_members.approve_request(db, settings, tribe, fatima, henk)
        await tribe_members.set_role(db, settings, tribe, fatima, henk, "moderator")
        # Moderators approve and reject too.
        approved = await tribe_members.approve_request(db, settings, tribe, henk, mo)
        assert approved.state == "active"
        rejected = await tribe_members.reject_request(db, settings, tribe, henk, ans)
        assert rejected.actor_id == ans.id
        assert await tribe_members.list_members(db, tribe, state="pending") == []
        with pytest.raises(NotFound):
            await tribe_members.approve_request(db, settings, tribe, fatima, ans)
        # After a rejection one may ask again.
        assert (await tribe_members.join(db, settings, tribe, ans)).state == "pending"


async def test_invite_only_tribe_admits_only_invited_people(app: Any) -> None:
    await _setup(app, "invite")
    settings = app.state.settings
    from fedi.domain import tribe_invites

    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        mo = await actor_named(db, "mo", "remote.example")
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, henk)
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, mo, activity_id="https://remote.example/f")
        invited = await tribe_invites.invite_actor(db, settings, tribe, fatima, mo)
        assert invited.state == "invited"
        assert await role_of(db, tribe, mo) is None
        joined = await tribe_members.join(db, settings, tribe, mo, activity_id="https://remote.example/f")
        assert joined.state == "active"
        with pytest.raises(Forbidden):
            await tribe_members.join(db, settings, tribe, henk, invite_token="not-a-token")


async def test_leave_and_the_last_admin(app: Any) -> None:
    await _setup(app, "open")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        await tribe_members.join(db, settings, tribe, henk)
        with pytest.raises(Conflict):
            await tribe_members.leave(db, settings, tribe, fatima)
        with pytest.raises(Conflict):
            await tribe_members.set_role(db, settings, tribe, fatima, fatima, "member")
        await tribe_members.set_role(db, settings, tribe, fatima, henk, "admin")
        await tribe_members.leave(db, settings, tribe, fatima)
        assert await role_of(db, tribe, fatima) is None
        with pytest.raises(NotFound):
            await tribe_members.leave(db, settings, tribe, fatima)
        with pytest.raises(Conflict):
            await tribe_members.leave(db, settings, tribe, henk)


async def test_remove_members_and_roles(app: Any) -> None:
    await _setup(app, "open")
    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        ans = await actor_named(db, "ans")
        mo = await actor_named(db, "mo", "remote.example")
        for person in (henk, ans, mo):
            await tribe_members.join(db, settings, tribe, person)
        # Members change no roles and remove nobody.
        with pytest.raises(Forbidden):
            await tribe_members.set_role(db, settings, tribe, henk, ans, "moderator")
        with pytest.raises(Forbidden):
            await tribe_members.remove_member(db, settings, tribe, henk, ans)
        await tribe_members.set_role(db, settings, tribe, fatima, henk, "moderator")
        await tribe_members.set_role(db, settings, tribe, fatima, ans, "moderator")
        # Moderators change no roles, remove members but not moderators or admins.
        with pytest.raises(Forbidden):
            await tribe_members.set_role(db, settings, tribe, henk, mo, "moderator")
        with pytest.raises(Forbidden):
            await tribe_members.remove_member(db, settings, tribe, henk, fatima)
        with pytest.raises(Forbidden):
            await tribe_members.remove_member(db, settings, tribe, henk, ans)
        await tribe_members.remove_member(db, settings, tribe, henk, mo)
        assert await role_of(db, tribe, mo) is None
        with pytest.raises(NotFound):
            await tribe_members.remove_member(db, settings, tribe, henk, mo)
        # Admins remove moderators; nobody removes themselves.
        await tribe_members.remove_member(db, settings, tribe, fatima, ans)
        with pytest.raises(Conflict):
            await tribe_members.remove_member(db, settings, tribe, fatima, fatima)
        members = await tribe_members.list_members(db, tribe)
        assert [(m.actor.username, m.role) for m in members] == [
            ("fatima", "admin"), ("henk", "moderator"),
        ]
        with pytest.raises(Exception) as caught:
            await tribe_members.set_role(db, settings, tribe, fatima, henk, "king")
        assert getattr(caught.value, "field", None) == "role"


async def test_events_tell_of_every_change(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await _setup(app, "approval")
    seen: list[tuple[str, str, str, str]] = []

    # A private copy of the subscriber table, so the recorder is gone after this test.
    monkeypatch.setattr(
        events, "_SUBSCRIBERS", {k: list(v) for k, v in events._SUBSCRIBERS.items()}
    )

    @events.subscribes(MembershipEvent, RoleChanged)
    async def record(db: Any, settings: Any, event: Any) -> None:
        if isinstance(event, RoleChanged):
            change = f"{event.old_role}->{event.new_role}"
            seen.append(("role", event.person.username, change, event.actor.username))
        else:
            seen.append(
                (event.change, event.person.username, event.member.state, event.actor.username)
            )

    settings = app.state.settings
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        fatima = await actor_named(db, "fatima")
        henk = await actor_named(db, "henk")
        ans = await actor_named(db, "ans")
        await tribe_members.join(db, settings, tribe, henk, activity_id="x:1")
        await tribe_members.approve_request(db, settings, tribe, fatima, henk)
        await tribe_members.join(db, settings, tribe, ans)
        await tribe_members.reject_request(db, settings, tribe, fatima, ans)
        await tribe_members.set_role(db, settings, tribe, fatima, henk, "moderator")
        await tribe_members.leave(db, settings, tribe, henk)
    # Who acted is part of each event: the person, or the admin who decided.
    assert seen == [
        ("requested", "henk", "pending", "henk"),
        ("approved", "henk", "active", "fatima"),
        ("requested", "ans", "pending", "ans"),
        ("rejected", "ans", "pending", "fatima"),
        ("role", "henk", "member->moderator", "fatima"),
        ("left", "henk", "active", "henk"),
    ]
