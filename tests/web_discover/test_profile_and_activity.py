"""The profile shows a person's tribes, initiatives, contributions and ratings; the tribe's
activity tab reads as sentences; the tribe's numbers agree with its lists."""

from __future__ import annotations

import re
from typing import Any

from fedi.domain import contributions, initiative_people
from fedi.domain.initiative_access import get_initiative
from fedi.state import FediApp
from tests.account_helpers import login, text
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import PASSWORD, actor_named


async def _offer_and_rate(app: FediApp, initiative_id: int, task_id: int) -> None:
    """Bob offers 6 hours, Ann accepts and rates them 80 with a word of thanks."""
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative_id)
        bob = await actor_named(db, "bob")
        ann = await actor_named(db, "ann")
        offer = await contributions.offer(db, app.state.settings, item, bob, task_id, hours=6)
        await contributions.decide(db, app.state.settings, item, ann, offer.id, accept=True)
        await contributions.rate(
            db, app.state.settings, item, ann, offer.id, score=80, feedback="Top gedaan"
        )


async def test_profile_shows_tribes_initiatives_contributions_and_ratings(
    app: FediApp, client: Any
) -> None:
    world = await make_world(app)
    bench = await make_initiative(app, world, name="Bankjes timmeren")
    secret = await make_initiative(app, world, name="Geheime klus", visibility="private")
    task = await make_task(app, bench, name="Hout zagen")
    await _offer_and_rate(app, bench.id, task.id)
    async with app.state.db.session() as db:
        bob = await actor_named(db, "bob")
        item = await get_initiative(db, bench.id)
        await initiative_people.support(db, app.state.settings, item, bob)
    page = await text(await client.get("/@bob"))
    assert 'href="/tribes/plein"' in page
    assert "Bankjes timmeren" in page
    assert "Hout zagen" in page and "Top gedaan" in page
    assert "80" in page
    # Ann is a partner of both; a visitor sees only the public one.
    ann_page = await text(await client.get("/@ann"))
    assert "Bankjes timmeren" in ann_page and secret.name not in ann_page
    await login(client, "ann", PASSWORD)
    assert secret.name in await text(await client.get("/@ann"))


async def test_activity_tab_speaks_in_sentences(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    bench = await make_initiative(app, world, name="Bankjes timmeren")
    task = await make_task(app, bench, name="Hout zagen")
    await _offer_and_rate(app, bench.id, task.id)
    await make_initiative(app, world, name="Geheime klus", visibility="private")
    page = await text(await client.get("/tribes/plein/activity"))
    link = f'<a href="/initiatives/{bench.id}"><em>Bankjes timmeren</em></a>'
    assert f"bob bood 6 uur aan voor {link}" in page
    assert "bob is lid geworden" in page  # the tribe's own history, in the same list
    assert f"ann nam de hulp van bob aan bij {link}" in page
    assert "Geheime klus" not in page
    # No protocol verbs or object URLs.
    assert "Create:" not in page and "/contributions/" not in page and "/ratings/" not in page


async def test_tribe_numbers_agree_with_the_lists(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    await make_initiative(app, world, name="Openbaar")
    await make_initiative(app, world, name="Voor leden", visibility="members")
    await make_initiative(app, world, name="Geheim", visibility="private")

    def counted(page: str) -> int:
        found = re.search(r"<li>(\d+) initiatie(?:f|ven)</li>", page)
        assert found, "no initiative count on the page"
        return int(found.group(1))

    for path in ("/tribes/plein", "/tribes/plein/initiatives", "/tribes/plein/activity"):
        assert counted(await text(await client.get(path))) == 1, path
    await login(client, "bob", PASSWORD)
    for path in ("/tribes/plein", "/tribes/plein/initiatives"):
        assert counted(await text(await client.get(path))) == 2, path
    ann = app.test_client()
    await login(ann, "ann", PASSWORD)
    assert counted(await text(await ann.get("/tribes/plein"))) == 3
