"""Tribe pages through the test client: directory, create, about, join, members, invitations,
settings, moderation, activity and the instance setting; CSRF and permissions."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from tribe_helpers import (
    actor_named,
    csrf_of,
    login,
    make_person,
    make_remote,
    make_tribe,
    post_form,
)

from fedi.domain import tribe_members, tribe_moderation, tribes
from models import TribeMember


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def test_directory_search_tags_and_nav(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await make_tribe(app, "plein", "fatima", name="Plein", tags="terrassen", theme="Het plein")
    await make_tribe(app, "zorg", "fatima", name="Zorginkoop Rotterdam", tags="zorg")
    page = await _text(await client.get("/tribes"))
    assert 'href="/tribes"' in page  # the main menu links here
    assert "Plein" in page and "Zorginkoop Rotterdam" in page
    page = await _text(await client.get("/tribes?tag=zorg"))
    assert "Zorginkoop Rotterdam" in page and "/tribes/plein" not in page
    page = await _text(await client.get("/tribes?q=plein"))
    assert "/tribes/plein" in page and "/tribes/zorg\"" not in page
    # Dutch is the default locale.
    assert "Stamnaam" not in page and "Zoeken" in page


async def test_create_through_the_form(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    response = await client.get("/tribes/new")
    assert response.status_code == 302  # log in first
    await login(client, "fatima")
    response = await client.post("/tribes/new", form={"slug": "plein", "name": "Plein"})
    assert response.status_code == 400  # no CSRF token
    form = {
        "slug": "plein", "name": "Plein", "theme": "De toekomst van het plein",
        "description": "Over *terrassen*", "tags": "terrassen", "location": "Den Haag",
        "language": "nl", "initiative_policy": "members", "budget_available": "€ 1.000",
        "target_area": "Centrum", "join_mode": "approval",
    }
    response = await post_form(client, "/tribes/new", form)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/tribes/plein")
    page = await _text(await client.get("/tribes/plein"))
    assert "<em>terrassen</em>" in page and "€ 1.000" in page and "Centrum" in page
    assert "@plein@localhost:8000" in page
    # The name is taken now, also for the form.
    response = await post_form(client, "/tribes/new", {**form, "slug": "fatima"})
    assert response.status_code == 409
    assert "aria-invalid" in await _text(response)


async def test_instance_setting_limits_creation_to_admins(app: Any, client: Any) -> None:
    await make_person(app, "beheer", is_admin=True)
    await make_person(app, "henk")
    await login(client, "henk")
    assert (await client.get("/admin/tribes")).status_code == 403
    assert (await client.get("/tribes/new")).status_code == 200
    await client.post("/logout", form={"csrf_token": await csrf_of(client, "/tribes")})
    await login(client, "beheer")
    response = await post_form(client, "/admin/tribes", {"tribe_creation": "admins"})
    assert response.status_code == 303
    async with app.state.db.session() as db:
        assert await tribes.get_tribe_creation(db) == "admins"
    assert (await client.get("/tribes/new")).status_code == 200
    other = app.test_client()
    await login(other, "henk")
    assert (await other.get("/tribes/new")).status_code == 403
    assert "Start a tribe" not in await _text(await other.get("/tribes"))


async def test_join_open_and_leave(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_tribe(app, "plein", "fatima")
    page = await _text(await client.get("/tribes/plein"))
    assert "/login?next=" in page
    await login(client, "henk")
    response = await post_form(client, "/tribes/plein/join", {}, page="/tribes/plein")
    assert response.status_code == 303
    page = await _text(await client.get("/tribes/plein"))
    assert "/tribes/plein/leave" in page
    members = await _text(await client.get("/tribes/plein/members"))
    assert "henk@localhost:8000" in members and "/members/" not in members.split("<table")[0]
    response = await post_form(client, "/tribes/plein/leave", {}, page="/tribes/plein")
    assert response.status_code == 303
    assert "/tribes/plein/join" in await _text(await client.get("/tribes/plein"))


async def test_approval_requests_are_decided_on_the_members_page(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_tribe(app, "zorg", "fatima", join_mode="approval")
    henk = app.test_client()
    await login(henk, "henk")
    response = await post_form(henk, "/tribes/zorg/join", {"message": "Ik werk in de zorg"},
                               page="/tribes/zorg")
    assert response.status_code == 303
    assert "/tribes/zorg/leave" in await _text(await henk.get("/tribes/zorg"))
    # A pending person sees no requests and cannot approve themselves.
    async with app.state.db.session() as db:
        member = await db.scalar(select(TribeMember).where(TribeMember.state == "pending"))
        assert member is not None
        member_id = member.id
    response = await post_form(henk, f"/tribes/zorg/members/{member_id}/approve", {},
                               page="/tribes/zorg")
    assert response.status_code == 403
    await login(client, "fatima")
    page = await _text(await client.get("/tribes/zorg/members"))
    assert "Ik werk in de zorg" in page
    response = await post_form(client, f"/tribes/zorg/members/{member_id}/approve", {},
                               page="/tribes/zorg/members")
    assert response.status_code == 303
    response = await post_form(client, f"/tribes/zorg/members/{member_id}/role",
                               {"role": "moderator"}, page="/tribes/zorg/members")
    assert response.status_code == 303
    async with app.state.db.session() as db:
        row = await db.get(TribeMember, member_id)
        assert row is not None and (row.state, row.role) == ("active", "moderator")
    # The last admin cannot step down: the message comes back on the page.
    async with app.state.db.session() as db:
        own = await db.scalar(select(TribeMember).where(TribeMember.role == "admin"))
        assert own is not None
        own_id = own.id
    response = await post_form(client, f"/tribes/zorg/members/{own_id}/role", {"role": "member"},
                               page="/tribes/zorg/members")
    assert response.status_code == 303
    page = await _text(await client.get("/tribes/zorg/members"))
    assert "laatste beheerder" in page


async def test_invitations_link_people_and_email(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_person(app, "ans")
    await make_tribe(app, "zorg", "fatima", join_mode="invite")
    henk = app.test_client()
    await login(henk, "henk")
    assert (await henk.get("/tribes/zorg/invite")).status_code == 403
    response = await post_form(henk, "/tribes/zorg/join", {}, page="/tribes/zorg")
    assert response.status_code == 403
    await login(client, "fatima")
    response = await post_form(client, "/tribes/zorg/invite/link", {"max_uses": "1", "days": "7"},
                               page="/tribes/zorg/invite")
    assert response.headers["Cache-Control"] == "no-store"
    link = re.search(
        r'value="(http://localhost:8000/tribes/zorg/join/[^"]+)"', await _text(response)
    )
    assert link
    path = link.group(1).removeprefix("http://localhost:8000")
    assert "De uitnodiging aannemen" in await _text(await henk.get(path))
    response = await post_form(henk, path, {}, page=path)
    assert response.status_code == 303
    assert (await henk.get(path)).status_code == 404  # used up
    response = await post_form(
        client, "/tribes/zorg/invite/people",
        {"entries": "@ans, nobody_here\nkees@example.org, bad@"}, page="/tribes/zorg/invite",
    )
    page = await _text(response)
    assert "/tribes/zorg/join/" in page  # the e-mail invitation's link to pass on
    ans = app.test_client()
    await login(ans, "ans")
    page = await _text(await ans.get("/tribes/zorg"))
    assert "/tribes/zorg/leave" in page  # accept or decline
    response = await post_form(ans, "/tribes/zorg/join", {}, page="/tribes/zorg")
    assert response.status_code == 303
    # kees registers later with the invited address and finds the invitation waiting.
    await make_person(app, "kees")
    kees = app.test_client()
    await login(kees, "kees")
    page = await _text(await kees.get("/tribes/zorg"))
    assert "/tribes/zorg/leave" in page
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "zorg")
        states = {m.actor.username: m.state for m in await tribe_members.list_members(db, tribe)}
        invited = await tribe_members.list_members(db, tribe, state="invited")
    assert states == {"fatima": "active", "henk": "active", "ans": "active"}
    assert [m.actor.username for m in invited] == ["kees"]


async def test_settings_moderation_and_activity(app: Any, client: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "henk")
    await make_remote(app, "mo")
    await make_tribe(app, "plein", "fatima")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        henk = await actor_named(db, "henk")
        mo = await actor_named(db, "mo", "remote.example")
        await tribe_members.join(db, app.state.settings, tribe, henk)
        await tribe_members.join(db, app.state.settings, tribe, mo)
        await tribe_moderation.hold_post(db, tribe, mo, {
            "id": "https://remote.example/a/1", "type": "Create",
            "object": {"id": "https://remote.example/n/1", "content": "<p>Terras <b>nu</b></p>"},
        })
    henk_client = app.test_client()
    await login(henk_client, "henk")
    for path in ("/tribes/plein/settings", "/tribes/plein/moderation", "/tribes/plein/invite"):
        assert (await henk_client.get(path)).status_code == 403, path
    await login(client, "fatima")
    values = {
        "name": "Het Plein", "theme": "Terrassen", "description": "", "tags": "plein",
        "location": "Den Haag", "language": "nl", "initiative_policy": "anyone",
        "budget_available": "", "target_area": "", "join_mode": "approval",
    }
    response = await post_form(client, "/tribes/plein/settings", values)
    assert response.status_code == 303
    response = await post_form(client, "/tribes/plein/settings", {**values, "join_mode": "x"})
    assert response.status_code == 400
    page = await _text(await client.get("/tribes/plein/moderation"))
    assert "Terras nu" in page
    response = await post_form(client, "/tribes/plein/moderation/blocks",
                               {"kind": "domain", "value": "remote.example"},
                               page="/tribes/plein/moderation")
    assert response.status_code == 303
    page = await _text(await client.get("/tribes/plein/moderation"))
    assert "remote.example" in page
    page = await _text(await client.get("/tribes/plein/activity"))
    assert "Henk" in page or "henk" in page
    assert "Het Plein" in page
