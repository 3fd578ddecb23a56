"""End to end in Chromium without JavaScript: start an initiative, plan it, offer, accept."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import logged_in, make_people


@pytest.mark.browser
@pytest.mark.live
async def test_plan_offer_and_accept_without_javascript(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "joost")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    async with logged_in(browser, server.base_url, "fatima", "joost") as (fatima, joost):
        await fatima.goto(server.base_url + "/tribes/plein")
        await fatima.get_by_role("link", name="Initiatieven", exact=True).click()
        await fatima.get_by_role("link", name="Start een initiatief").click()
        await fatima.fill("#f-name", "Terrassen waar de zon schijnt")
        await fatima.fill("#f-summary", "Samen bepalen waar de terrassen staan.")
        await fatima.get_by_role("button", name="Start het initiatief").click()
        await fatima.wait_for_load_state()
        assert "Je initiatief is gestart." in await fatima.content()
        initiative_url = fatima.url

        await fatima.get_by_role("link", name="Bord", exact=True).click()
        await fatima.fill("#lane-new", "Bezig")
        await fatima.get_by_role("button", name="Kolom toevoegen").click()
        await fatima.fill("#task-name", "Schetsen maken")
        await fatima.get_by_role("button", name="Taak toevoegen").click()
        await fatima.wait_for_load_state()
        await fatima.locator("form.move select").select_option(label="Bezig")
        await fatima.get_by_role("button", name="Verplaatsen").click()
        await fatima.wait_for_load_state()
        assert "De taak is verplaatst." in await fatima.content()
        lane = fatima.get_by_role("region", name="Bezig (1)")
        assert await lane.get_by_role("link", name="Schetsen maken").count() == 1

        await joost.goto(initiative_url + "/board")
        await joost.get_by_role("link", name="Schetsen maken").click()
        await joost.get_by_label("Uren").fill("8")
        await joost.get_by_label("Motivatie").fill("Ik teken graag")
        await joost.get_by_role("button", name="Hulp aanbieden").click()
        await joost.wait_for_load_state()
        assert "De partners bekijken je aanbod." in await joost.content()

        await fatima.goto(joost.url)
        await fatima.get_by_role("button", name="Accepteren").click()
        await fatima.wait_for_load_state()
        assert "Het aanbod van joost is aangenomen." in await fatima.content()

        await joost.goto(initiative_url)
        bar = joost.get_by_role("progressbar", name="Taken klaar")
        assert await bar.get_attribute("value") == "0"
        assert "Je bent partner van dit initiatief." in await joost.content()
