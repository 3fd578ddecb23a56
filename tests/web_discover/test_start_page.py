"""The start page for a visitor and for a logged-in person (their own things, matches for
their talents, and what happened since their last visit)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from fedi.domain import contributions, initiative_board, start_page
from fedi.domain.initiative_access import get_initiative
from fedi.domain.talents import set_talents
from fedi.state import FediApp
from models import LastVisit, User
from tests.account_helpers import login, post_form, text
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import PASSWORD, actor_named


async def _user_of(db: Any, username: str) -> User:
    actor = await actor_named(db, username)
    return (await db.scalars(select(User).where(User.actor_id == actor.id))).one()


async def test_visitors_see_help_wanted_results_and_tribes(app: FediApp, client: Any) -> None:
    world = await make_world(app, theme="Het marktplein")
    bench = await make_initiative(app, world, name="Bankjes timmeren")
    await make_task(app, bench, name="Hout zagen", tags=["zagen"])
    paint = await make_task(app, bench, name="Verf kopen")
    await make_initiative(app, world, name="Verborgen plan", visibility="private")
    async with app.state.db.session() as db:
        item = await get_initiative(db, bench.id)
        await initiative_board.complete_task(
            db, app.state.settings, item, await actor_named(db, "ann"), paint.id
        )
    page = await text(await client.get("/"))
    assert "Bankjes timmeren" in page  # needs help: an open task
    assert "zagen" in page  # the talent that task wants
    assert "Verf kopen" in page  # a recent result
    assert "Verborgen plan" not in page
    assert "Plein" in page  # an active tribe
    assert 'action="/discover"' in page


async def test_a_person_sees_their_own_things(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    bench = await make_initiative(app, world, name="Bankjes timmeren", creator="ann")
    task = await make_task(app, bench, name="Hout zagen", tags=["timmeren"])
    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        await set_talents(db, bob, ["timmeren"])
        item = await get_initiative(db, bench.id)
        await contributions.offer(db, app.state.settings, item, bob, task.id, hours=6)
    await login(client, "bob", PASSWORD)
    page = await text(await client.get("/"))
    assert 'href="/tribes/plein"' in page  # their tribe
    assert "Hout zagen" in page  # their offer, waiting
    # Ann, a partner, sees the open task of her initiative and her initiative.
    ann = app.test_client()
    await login(ann, "ann", PASSWORD)
    mine = await text(await ann.get("/"))
    assert "Hout zagen" in mine and "Bankjes timmeren" in mine


async def test_since_the_last_visit(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    bench = await make_initiative(app, world, name="Bankjes timmeren", creator="ann")
    await login(client, "bob", PASSWORD)
    await client.get("/")
    # The visit was yesterday; since then Ann added a task.
    async with app.state.db.session() as db:
        visit = await db.get(LastVisit, (await _user_of(db, "bob")).id)
        assert visit is not None
        visit.seen_at = visit.seen_at - timedelta(days=1)
    await make_task(app, bench, name="Schroeven halen")
    page = await text(await client.get("/"))
    assert "Schroeven halen" in page
    # A reload soon after still shows it.
    assert "Schroeven halen" in await text(await client.get("/"))


async def test_record_visit_keeps_the_previous_visit(app: FediApp) -> None:
    await make_world(app)
    async with app.state.db.session() as db:
        user = await _user_of(db, "ann")
        start = user.created_at
        soon = start + timedelta(minutes=5)
        assert await start_page.record_visit(db, user, start) is None
        assert await start_page.record_visit(db, user, soon) is None
        later = start + timedelta(hours=3)
        assert await start_page.record_visit(db, user, later) == soon
        assert await start_page.record_visit(db, user, later + timedelta(minutes=1)) == soon


async def test_english_and_plural_forms(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    one = await make_initiative(app, world, name="Bankjes timmeren")
    await make_task(app, one, name="Hout zagen")
    two = await make_initiative(app, world, name="Moestuin")
    await make_task(app, two, name="Spitten")
    await make_task(app, two, name="Zaaien")
    dutch = await text(await client.get("/"))
    assert "1 open taak" in dutch and "2 open taken" in dutch
    await post_form(client, "/", "/language", {"lang": "en", "next": "/"})
    english = await text(await client.get("/"))
    assert "1 open task<" in english and "2 open tasks" in english
    assert "Initiatives that need help" in english
    found = await text(await client.get("/initiatives?q=moestuin"))
    assert "(1 found)" in found


async def test_talent_matches_name_what_matched(app: FediApp) -> None:
    world = await make_world(app)
    bench = await make_initiative(app, world, name="Bankjes timmeren", tags=["hout"])
    await make_task(app, bench, name="Hout zagen", tags=["timmeren"])
    await make_task(app, bench, name="Verven", tags=["schilderen"])
    await make_initiative(app, world, name="Moestuin", tags=["tuinieren"])
    await make_initiative(app, world, name="Geheime klus", tags=["timmeren"], visibility="private")
    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        assert await start_page.talent_matches(db, bob) == []
        await set_talents(db, bob, ["timmeren", "hout"])
        found = await start_page.talent_matches(db, bob)
    assert [match.initiative.name for match in found] == ["Bankjes timmeren"]
    assert found[0].tags == ["hout"]
    assert [(task.name, tags) for task, tags in found[0].tasks] == [("Hout zagen", ["timmeren"])]
