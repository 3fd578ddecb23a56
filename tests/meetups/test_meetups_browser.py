"""End to end in Chromium without JavaScript: organise an event in a tribe, join it, see the
address with its OpenStreetMap link, add it to the calendar, and cancel it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from browser_helpers import logged_in, make_people
from icalendar import Calendar


@pytest.mark.browser
@pytest.mark.live
async def test_organise_join_and_cancel_an_event(live_server_factory: Any, browser: Any) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "joost")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    async with logged_in(browser, server.base_url, "fatima", "joost") as (fatima, joost):
        await fatima.goto(server.base_url + "/tribes/plein")
        await fatima.get_by_role("link", name="Activiteiten", exact=True).last.click()
        await fatima.get_by_role("link", name="Activiteit organiseren").click()
        await fatima.get_by_label("Titel").fill("Buurtborrel")
        await fatima.get_by_label("Begint").fill("2031-06-12T19:30")
        await fatima.get_by_label("Eindigt").fill("2031-06-12T22:00")
        await fatima.get_by_label("Tijdzone").select_option("Europe/Amsterdam")
        await fatima.get_by_label("Straat en huisnummer").fill("Plein 1")
        await fatima.get_by_label("Woonplaats").fill("Den Haag")
        await fatima.get_by_label("Maximum aantal deelnemers").fill("10")
        await fatima.get_by_role("button", name="Activiteit publiceren").click()
        await fatima.wait_for_load_state()
        assert "Je activiteit is gepubliceerd." in await fatima.content()
        event_url = fatima.url
        osm = fatima.get_by_role("link", name="Toon op OpenStreetMap")
        href = await osm.get_attribute("href")
        assert href == "https://www.openstreetmap.org/search?query=Plein+1+Den+Haag"

        await joost.goto(server.base_url + "/events")
        await joost.get_by_role("link", name="Buurtborrel").click()
        await joost.get_by_role("button", name="Doe mee").click()
        await joost.wait_for_load_state()
        assert "Je doet mee aan deze activiteit." in await joost.content()
        participants = joost.get_by_role("region", name="Deelnemers")
        assert await participants.get_by_text("@joost@").count() == 1

        ics_href = await joost.get_by_role("link", name="Toevoegen aan agenda").get_attribute(
            "href"
        )
        async with httpx.AsyncClient() as http:
            body = (await http.get(server.base_url + str(ics_href))).content
        (event,) = Calendar.from_ical(body).walk("VEVENT")
        assert str(event["SUMMARY"]) == "Buurtborrel"
        assert event.decoded("DTSTART").isoformat() == "2031-06-12T19:30:00+02:00"

        await fatima.goto(event_url)
        await fatima.get_by_role("button", name="Activiteit afgelasten").click()
        await fatima.wait_for_load_state()
        assert "De activiteit is afgelast." in await fatima.content()
        await joost.goto(event_url)
        assert await joost.get_by_role("button", name="Doe mee").count() == 0
        assert "Afgelast" in await joost.content()
