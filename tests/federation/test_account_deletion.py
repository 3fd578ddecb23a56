"""Deleting an account (issue 12, "Leaving"), on one instance and between two.

Alice deletes her account in the account page with her password (a wrong password is
refused and changes nothing); an admin can delete someone with the same effects and an audit
entry. What others built stays: the initiative alice started keeps her message and comment,
shown as from a "deleted account", and the tribe she alone administered passes to a member.
Between two in-process instances (``two_apps``), bob's server drops her follow, her notes
and her tribe membership when her ``Delete{Person}`` arrives.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from restricted_helpers import follow_group
from social_helpers import local, make_person
from sqlalchemy import func, select
from tribe_helpers import PASSWORD, csrf_of, login, make_tribe, post_form
from tribe_helpers import make_person as make_web_person

from fedi.domain import conversation, follows, notes, tribe_members, tribes
from fedi.domain.initiative_access import get_initiative
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.state import FediApp
from models import (
    Actor,
    ApObject,
    AuditEntry,
    Follow,
    Initiative,
    OutboxActivity,
    TribeMember,
    User,
)
from tests.initiative_helpers import World, make_initiative
from tests.tribe_helpers import actor_named

ALICE = "http://localhost:8001/users/alice"


async def _delete_via_form(client: Any, password: str) -> Any:
    return await post_form(client, "/account/delete", {"delete_password": password},
                           page="/account")


async def _world_with_alice(app: FediApp) -> tuple[World, Initiative]:
    """Tribe ``plein`` administered by alice alone, member bob; alice's initiative with her
    message and comment."""
    alice = await make_web_person(app, "alice")
    bob = await make_web_person(app, "bob")
    cas = await make_web_person(app, "cas")
    tribe = await make_tribe(app, "plein", "alice")
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        await tribe_members.join(db, app.state.settings, tribe, await actor_named(db, "bob"))
    world = World(tribe, alice, bob, cas, cas)
    initiative = await make_initiative(app, world, creator="alice", name="Bankjes op het plein")
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        author = await actor_named(db, "alice")
        await conversation.post_message(db, app.state.settings, item, author,
                                        "Wie helpt zaterdag mee?")
        await conversation.add_comment(db, app.state.settings, item, author,
                                       "Ik neem de schroeven mee.")
    return world, initiative


async def test_wrong_password_refuses_and_right_one_deletes_at_once(app: FediApp) -> None:
    _world, initiative = await _world_with_alice(app)
    client = app.test_client()
    await login(client, "alice")

    refused = await _delete_via_form(client, "not my password")
    assert refused.status_code == 400
    assert "Het wachtwoord klopt niet." in await refused.get_data(as_text=True)
    assert (await client.get("/account")).status_code == 200  # still logged in, still there

    done = await _delete_via_form(client, PASSWORD)
    assert done.status_code in (302, 303)
    assert (await client.get("/account")).status_code == 302  # logged out: the account is gone
    async with app.state.db.session() as db:
        actor = await db.scalar(select(Actor).where(Actor.username == "alice"))
        assert actor is not None and actor.gone_at is not None and actor.private_key_pem
        assert await db.scalar(select(func.count(User.id)).where(User.actor_id == actor.id)) == 0
        members = (await db.scalars(select(TribeMember))).all()
        assert [(m.actor.username, m.role) for m in members] == [("bob", "admin")]
        assert actor.talents == [] and actor.display_name == ""

    # The actor id answers 410 with a Tombstone; the name cannot be registered again.
    gone = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert gone.status_code == 410
    assert (await gone.get_json())["type"] == "Tombstone"
    token = await csrf_of(client, "/register")
    again = await client.post("/register", form={
        "username": "alice", "email": "new@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD, "csrf_token": token,
    })
    assert again.status_code == 409  # the name is taken
    async with app.state.db.session() as db:
        assert await db.scalar(select(func.count(User.id)).where(
            User.email == "new@example.org")) == 0
    assert await login_fails(app, "alice")

    # The initiative stays; alice's message and comment show "deleted account".
    page = await (await client.get(f"/initiatives/{initiative.id}")).get_data(as_text=True)
    assert "Bankjes op het plein" in page
    assert "Ik neem de schroeven mee." in page and "Wie helpt zaterdag mee?" in page
    assert "verwijderd account" in page
    assert "@alice@" not in page


async def login_fails(app: FediApp, name: str) -> bool:
    """Whether logging in as ``name`` is refused."""
    client = app.test_client()
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login", form={"login": name, "password": PASSWORD, "csrf_token": token}
    )
    return response.status_code == 400


async def test_admin_deletes_with_the_same_effects_and_an_audit_entry(app: FediApp) -> None:
    await _world_with_alice(app)
    await make_web_person(app, "boss", is_admin=True)
    admin = app.test_client()
    await login(admin, "boss")
    page = await (await admin.get("/admin/users")).get_data(as_text=True)
    assert "/admin/users/alice/delete" in page
    response = await post_form(admin, "/admin/users/alice/delete", {"back": "users"},
                               page="/admin/users")
    assert response.status_code in (302, 303)
    async with app.state.db.session() as db:
        actor = await db.scalar(select(Actor).where(Actor.username == "alice"))
        assert actor is not None and actor.gone_at is not None
        assert await db.scalar(select(func.count(User.id)).where(User.actor_id == actor.id)) == 0
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.delete"))
        assert entry is not None and entry.target_label == "alice"
        assert entry.actor_label == "boss"
    assert await login_fails(app, "alice")
    log = await (await admin.get("/admin/audit")).get_data(as_text=True)
    assert "Account verwijderd" in log


async def test_delete_person_reaches_the_other_server(two_apps: Any) -> None:
    a, b = two_apps
    await make_web_person(a, "alice")
    await make_person(b, "bob")
    await make_tribe(b, "buurt", "bob")
    # alice joins bob's tribe on B (a Follow of the Group); bob follows alice.
    await follow_group(a, "alice", "buurt@localhost:8002")
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await follows.follow(db, b.state, bob, await get_or_fetch_actor(b.state, db, ALICE))
    await drain(a, b)
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        await notes.create_note(db, a.state, alice, "Hallo buren", visibility="public")
    await drain(a, b)
    async with b.state.db.session() as db:
        copy = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert copy is not None
        assert await db.scalar(select(func.count(Follow.id)).where(
            Follow.followed_id == copy.id)) == 1
        assert await db.scalar(select(func.count(TribeMember.id)).where(
            TribeMember.actor_id == copy.id)) == 1
        note = await db.scalar(select(ApObject).where(ApObject.attributed_to_id == copy.id))
        assert note is not None and note.deleted_at is None

    client = a.test_client()
    await login(client, "alice")
    done = await _delete_via_form(client, PASSWORD)
    assert done.status_code in (302, 303)
    async with a.state.db.session() as db:
        sent = await db.scalar(select(OutboxActivity).where(OutboxActivity.type == "Delete"))
        assert sent is not None
        assert sent.payload["actor"] == ALICE and sent.payload["object"] == ALICE
        assert "bto" not in sent.payload
    await drain(a, b)

    async with b.state.db.session() as db:
        copy = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert copy is not None and copy.gone_at is not None
        assert await db.scalar(select(func.count(Follow.id)).where(
            (Follow.followed_id == copy.id) | (Follow.follower_id == copy.id))) == 0
        assert await db.scalar(select(func.count(TribeMember.id)).where(
            TribeMember.actor_id == copy.id)) == 0
        note = await db.scalar(select(ApObject).where(ApObject.attributed_to_id == copy.id))
        assert note is not None and note.deleted_at is not None
        assert note.payload["type"] == "Tombstone" and not note.content_html
    # bob's following collection on B no longer lists her.
    following = await b.test_client().get(
        "/users/bob/following?page=1", headers={"Accept": "application/activity+json"})
    assert ALICE not in str(await following.get_json())
