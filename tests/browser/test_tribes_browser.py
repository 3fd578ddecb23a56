"""End to end in Chromium without JavaScript: find a tribe, ask to join, an admin approves."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import logged_in, make_people


@pytest.mark.browser
@pytest.mark.live
async def test_request_to_join_and_approve_without_javascript(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "henk")
    server.cli("tribe", "create", "zorginkoop", "--name", "Zorginkoop Rotterdam",
               "--owner", "fatima", "--join", "approval")
    async with logged_in(browser, server.base_url, "henk", "fatima") as (henk, fatima):
        await henk.get_by_role("link", name="Tribes", exact=True).click()
        await henk.get_by_role("link", name="Zorginkoop Rotterdam").click()
        await henk.wait_for_load_state()
        await henk.get_by_label("Waarom wil je lid worden? (niet verplicht)").fill("Ik help graag")
        await henk.get_by_role("button", name="Vraag om lid te worden").click()
        await henk.wait_for_load_state()
        assert "Je verzoek is naar de beheerders van Zorginkoop Rotterdam gestuurd." in (
            await henk.content()
        )

        await fatima.goto(server.base_url + "/tribes/zorginkoop/members")
        assert "Ik help graag" in await fatima.content()
        await fatima.get_by_role("button", name="henk@" + server.host + " goedkeuren").click()
        await fatima.wait_for_load_state()
        assert "henk is nu lid." in await fatima.content()

        await henk.goto(server.base_url + "/tribes/zorginkoop")
        assert "Je bent lid van deze tribe (Lid)." in await henk.content()
