"""End to end in Chromium: a visitor discovers an initiative by searching from the start
page and opens it, with the keyboard, on a phone-sized and a desktop viewport; the start
page, the results, a profile and a tribe's activity tab pass axe-core's WCAG 2.1 A/AA
rules and do not scroll sideways."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.axe_helpers import assert_accessible

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# A demo initiative (fedi/demo_initiatives.py) and a word from its name.
INITIATIVE = "Terrassen waar de zon schijnt"
FOUND = re.compile(r"^Initiatieven \(\d+ gevonden\)")


async def _no_sideways_scrolling(page: Any) -> None:
    wide = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 1, f"the page scrolls sideways by {wide}px at {page.url}"


@pytest.mark.browser
@pytest.mark.live
async def test_discover_an_initiative_by_search(live_server_factory: Any, browser: Any) -> None:
    server = live_server_factory(FEDI_DEMO="1")
    for name, viewport in VIEWPORTS.items():
        context = await browser.new_context(viewport=viewport, java_script_enabled=False)
        page = await context.new_page()
        try:
            await page.goto(server.base_url + "/")
            await assert_accessible(page, context=f"start page, {name}")
            await _no_sideways_scrolling(page)
            # Keyboard only: type in the search box and press Enter.
            search = page.get_by_label("Vind een initiatief, een tribe of een persoon")
            await search.focus()
            await page.keyboard.type("terras")
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert "/discover?" in page.url and "q=terras" in page.url
            results = page.get_by_role("region", name=FOUND)
            await results.wait_for()
            await assert_accessible(page, context=f"discover results, {name}")
            await _no_sideways_scrolling(page)
            link = results.get_by_role("link", name=INITIATIVE, exact=True)
            await link.focus()
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            heading = await page.get_by_role("heading", level=1).inner_text()
            assert INITIATIVE in heading  # (its page's own checks are in its own tests)
            # The other kinds are one link away, with the search kept.
            await page.goto(server.base_url + "/discover?q=plein&kind=tribes")
            kinds = page.get_by_role("navigation", name="Wat wil je ontdekken")
            current = kinds.get_by_role("link", name="Tribes", exact=True)
            assert await current.get_attribute("aria-current") == "page"
            assert await page.get_by_label("Zoekwoorden").input_value() == "plein"
            await assert_accessible(page, context=f"discover tribes, {name}")
            # The profile with its work, and a tribe's activity in sentences.
            for path, what in (("/@fatima", "profile"), ("/tribes/plein/activity", "activity")):
                await page.goto(server.base_url + path)
                await assert_accessible(page, context=f"{what}, {name}")
                await _no_sideways_scrolling(page)
        finally:
            await context.close()
