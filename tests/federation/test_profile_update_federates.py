"""A changed profile reaches other servers at once as ``Update{Person}``.

Two instances on one routing transport (``two_apps``). Alice on localhost:8001 edits her
profile in the web form; bob's server (a follower) and carol's server (which knows alice
only because both take part in the tribe ``plein``) show the new name and match the new
talents without waiting for a refetch, and no activity names the blind recipients.
"""

from __future__ import annotations

from harness import drain
from restricted_helpers import follow_group
from social_helpers import local, make_person
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from tribe_helpers import login, make_tribe, post_form
from tribe_helpers import make_person as make_web_person

from fedi.domain import follows
from fedi.federation.remote.actors import get_or_fetch_actor
from models import Actor, OutboxActivity

ALICE = "http://localhost:8001/users/alice"


async def _edit_alice(app) -> None:
    client = app.test_client()
    await login(client, "alice")
    response = await post_form(
        client, "/settings/profile",
        {"display_name": "Alice de Vries", "bio": "Timmert bankjes.", "location": "Plein",
         "talents": "timmeren, tuinieren"},
        page="/settings/profile",
    )
    assert response.status_code in (302, 303), await response.get_data(as_text=True)


async def _copy_of_alice(app) -> Actor:
    async with app.state.db.session() as db:
        copy = await db.scalar(
            select(Actor).where(Actor.ap_id == ALICE).options(selectinload(Actor.talents))
        )
        assert copy is not None
        return copy


async def test_followers_get_the_new_profile(two_apps):
    a, b = two_apps
    await make_web_person(a, "alice")
    await make_person(b, "bob")
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await follows.follow(db, b.state, bob, await get_or_fetch_actor(b.state, db, ALICE))
    await drain(a, b)
    assert (await _copy_of_alice(b)).display_name != "Alice de Vries"

    await _edit_alice(a)
    await drain(a, b)
    copy = await _copy_of_alice(b)
    assert copy.display_name == "Alice de Vries"
    assert "Timmert bankjes." in copy.bio_html
    assert sorted(t.tag for t in copy.talents) == ["timmeren", "tuinieren"]
    async with a.state.db.session() as db:
        update = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Update")
        )
    assert update is not None and update.payload["object"]["id"] == ALICE
    assert update.payload["object"]["talents"] == ["timmeren", "tuinieren"]


async def test_servers_of_fellow_tribe_members_get_it_unnamed(two_apps):
    a, b = two_apps
    await make_web_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    await make_person(b, "carol")
    await follow_group(b, "carol", "plein@localhost:8001")
    async with b.state.db.session() as db:
        # Carol's server met alice through the tribe; nobody there follows her.
        await get_or_fetch_actor(b.state, db, ALICE)
    await drain(a, b)

    await _edit_alice(a)
    await drain(a, b)
    copy = await _copy_of_alice(b)
    assert copy.display_name == "Alice de Vries"
    assert sorted(t.tag for t in copy.talents) == ["timmeren", "tuinieren"]
    async with a.state.db.session() as db:
        update = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Update",
                                         OutboxActivity.actor_id == (await local(a, "alice")).id)
        )
    assert update is not None
    # The tribe's follower was a recipient, but the sent activity does not list who.
    assert "bto" not in update.payload and "bcc" not in update.payload
