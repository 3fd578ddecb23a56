"""The page of a tribe on another server (``/tribes/name@host``): it says where the tribe
lives, shows what this server holds of it, lets people join through this server, and has
none of a local tribe's admin pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from activitypub.vocab import ACTIVITY_JSON
from fedi.domain import initiatives
from fedi.domain.remote_tribes import ensure_remote_tribe
from fedi.state import FediApp
from models import Actor, ApObject, Follow, OutboxActivity, Reaction, utcnow
from tests.tribe_helpers import actor_named, login, make_person, make_remote, post_form

GROUP = "https://elders.example/c/buurttuin"
SLUG = "buurttuin@elders.example"


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def _remote_tribe(app: FediApp) -> None:
    """A Group on elders.example with an initiative and a boosted post we hold, and ``noor``
    of this server as an accepted member."""
    noor = await make_person(app, "noor")
    await make_person(app, "sam")
    rik = await make_remote(app, "rik", "elders.example")
    async with app.state.db.session() as db:
        group = Actor(
            ap_id=GROUP, type="Group", local=False, username="buurttuin",
            domain="elders.example", display_name="Buurttuin Elders",
            bio_html="<p>Samen tuinieren aan de overkant.</p>", url=GROUP,
            inbox=f"{GROUP}/inbox", languages=[], links=[],
        )
        db.add(group)
        await db.flush()
        tribe = await ensure_remote_tribe(db, group)
        author = await db.get(Actor, rik.id)
        assert author is not None
        await initiatives.create_initiative(
            db, app.state.settings, tribe, author, name="Compostbak bouwen",
            ap_id="https://elders.example/initiatives/7",
        )
        note_id = "https://elders.example/notes/1"
        db.add(ApObject(
            ap_id=note_id, type="Note", local=False, attributed_to_id=rik.id,
            content_html="<p>Zaterdag zaaien we bonen.</p>", url=note_id, payload={},
            visibility="public",
        ))
        db.add(Reaction(
            kind="Announce", actor_id=group.id, object_ap_id=note_id,
            activity_ap_id=f"{GROUP}/announces/1",
        ))
        db.add(Follow(
            follower_id=noor.id, followed_id=group.id, accepted=True, accepted_at=utcnow(),
            activity_ap_id="http://localhost/follows/1",
        ))


async def test_remote_tribe_page_shows_what_we_hold_and_where_it_lives(app: FediApp) -> None:
    await _remote_tribe(app)
    client = app.test_client()
    page = await _text(await client.get(f"/tribes/{SLUG}"))
    assert "Buurttuin Elders" in page and "@buurttuin@elders.example" in page
    assert "elders.example" in page and f'href="{GROUP}"' in page  # a link to the original
    assert "Samen tuinieren aan de overkant." in page
    assert "Compostbak bouwen" in page  # the initiative we keep a copy of
    assert "Zaterdag zaaien we bonen." in page  # the post the Group boosted to us
    assert 'href="/@noor"' in page and 'href="/@sam"' not in page  # our member, only her
    # No local-only controls, and no local membership numbers that would be wrong here.
    for path in ("/settings", "/invite", "/moderation", "/members", "/activity"):
        assert f'href="/tribes/{SLUG}{path}"' not in page
    # Those pages, the documents and collections are the other server's, not ours.
    for path in ("/settings", "/invite", "/moderation", "/members", "/activity"):
        assert (await client.get(f"/tribes/{SLUG}{path}")).status_code in (302, 404)
    assert (await client.get(f"/tribes/{SLUG}", headers={"Accept": ACTIVITY_JSON})).status_code \
        == 404
    assert (await client.get(f"/tribes/{SLUG}/outbox",
                             headers={"Accept": ACTIVITY_JSON})).status_code == 404


async def test_joining_a_remote_tribe_follows_its_group_through_this_server(
    app: FediApp,
) -> None:
    await _remote_tribe(app)
    client = app.test_client()
    await login(client, "sam")
    page = await _text(await client.get(f"/tribes/{SLUG}"))
    assert f'action="/tribes/{SLUG}/join"' in page
    response = await post_form(client, f"/tribes/{SLUG}/join", {}, page=f"/tribes/{SLUG}")
    assert response.status_code == 303
    async with app.state.db.session() as db:
        sam = await actor_named(db, "sam")
        follow = await db.scalar(select(Follow).where(Follow.follower_id == sam.id))
        assert follow is not None and not follow.accepted  # until the Group's Accept arrives
        sent = list(await db.scalars(
            select(OutboxActivity).where(OutboxActivity.actor_id == sam.id)
        ))
        assert [(a.type, a.payload["object"]) for a in sent] == [("Follow", GROUP)]
    page = await _text(await client.get(f"/tribes/{SLUG}"))
    assert f'action="/tribes/{SLUG}/leave"' in page  # withdraw the request
    # Noor, already a member, can leave: our server sends Undo{Follow}.
    other = app.test_client()
    await login(other, "noor")
    member_page = await _text(await other.get(f"/tribes/{SLUG}"))
    assert f'action="/tribes/{SLUG}/leave"' in member_page
    response = await post_form(other, f"/tribes/{SLUG}/leave", {}, page=f"/tribes/{SLUG}")
    assert response.status_code == 303
    async with app.state.db.session() as db:
        noor = await actor_named(db, "noor")
        assert await db.scalar(select(Follow).where(Follow.follower_id == noor.id)) is None
        undo = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.actor_id == noor.id, OutboxActivity.type == "Undo"
            )
        )
        assert undo is not None and undo.payload["object"]["object"] == GROUP
