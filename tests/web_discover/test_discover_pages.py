"""The discover page and /initiatives: search, filters, kinds, paging and visibility."""

from __future__ import annotations

import re
from typing import Any

from fedi.state import FediApp
from tests.account_helpers import login, text
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import PASSWORD


async def test_initiatives_page_lists_and_searches_across_tribes(
    app: FediApp, client: Any
) -> None:
    world = await make_world(app, theme="Het marktplein")
    await make_initiative(
        app, world, name="Bankjes timmeren", summary="Houten bankjes", tags=["hout"]
    )
    await make_initiative(app, world, name="Moestuin aanleggen")
    await make_initiative(app, world, name="Geheime vergadering", visibility="private")
    page = await text(await client.get("/initiatives"))
    assert "Bankjes timmeren" in page and "Moestuin aanleggen" in page
    assert "Geheime vergadering" not in page
    found = await text(await client.get("/initiatives?q=bankjes"))
    assert "Bankjes timmeren" in found and "Moestuin aanleggen" not in found
    assert 'value="bankjes"' in found  # the search box keeps what was typed
    by_tag = await text(await client.get("/initiatives?tag=hout"))
    assert "Bankjes timmeren" in by_tag and "Moestuin aanleggen" not in by_tag
    nothing = await text(await client.get("/initiatives?q=zwembad"))
    assert "Niets gevonden" in nothing


async def test_discover_tribes_and_people(app: FediApp, client: Any) -> None:
    await make_world(app, theme="Het marktplein", location="Zwolle")
    tribes_page = await text(await client.get("/discover?kind=tribes&q=marktplein"))
    assert "Plein" in tribes_page
    assert 'aria-current="page">Tribes</a>' in tribes_page  # the kind shown is marked
    people = await text(await client.get("/discover?kind=people&q=bob"))
    assert "/@bob" in people and "/@ann" not in people
    # Unknown values fall back to the defaults instead of failing.
    odd = await client.get("/discover?kind=robots&sort=weird&page=x&phase=nope")
    assert odd.status_code == 200


async def test_members_see_members_initiatives_after_login(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    await make_initiative(app, world, name="Ledenoverleg", visibility="members")
    assert "Ledenoverleg" not in await text(await client.get("/initiatives"))
    await login(client, "bob", PASSWORD)
    assert "Ledenoverleg" in await text(await client.get("/initiatives"))


async def test_pages_are_links_that_keep_the_filters(app: FediApp, client: Any) -> None:
    world = await make_world(app)
    for number in range(23):
        await make_initiative(app, world, name=f"Plan nummer {number}", tags=["groen"])
    first = await text(await client.get("/initiatives?tag=groen"))
    assert first.count('class="card discover-card"') == 20
    links = re.findall(r'href="(/initiatives\?[^"]*page=2[^"]*)"', first)
    assert links and all("tag=groen" in link for link in links)
    second = await text(await client.get(links[0].replace("&amp;", "&")))
    assert second.count('class="card discover-card"') == 3
    assert 'rel="prev"' in second and 'rel="next"' not in second
