"""A poll in Chromium without JavaScript: start it, vote with the radio buttons, see the bars."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import logged_in, make_people


@pytest.mark.browser
@pytest.mark.live
async def test_start_a_poll_and_vote_without_javascript(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "henk")
    server.cli("tribe", "create", "plein", "--name", "Het Plein", "--owner", "fatima")
    async with logged_in(browser, server.base_url, "fatima", "henk") as (fatima, henk):
        await fatima.goto(server.base_url + "/tribes/plein")
        await fatima.get_by_role("link", name="Besluiten").click()
        await fatima.wait_for_load_state()
        await fatima.get_by_label("Vraag").fill("Waar komt de bank?")
        await fatima.get_by_label("Keuze 1").fill("Bij de fontein")
        await fatima.get_by_label("Keuze 2").fill("Onder de boom")
        await fatima.get_by_label("Sluit na").select_option(label="3 dagen")
        await fatima.get_by_role("button", name="Publiceer de peiling").click()
        await fatima.wait_for_load_state()
        assert "Je peiling is gepubliceerd." in await fatima.content()

        await henk.goto(server.base_url + "/tribes/plein")
        await henk.get_by_role("button", name="Word lid van deze tribe").click()
        await henk.wait_for_load_state()
        await henk.goto(server.base_url + "/tribes/plein/polls")
        await henk.get_by_label("Onder de boom").check()
        await henk.get_by_role("button", name="Stemmen").click()
        await henk.wait_for_load_state()
        content = await henk.content()
        assert "Dank je, je stem is geteld." in content
        assert "1 stem (100%)" in content and "jouw stem" in content
        assert await henk.get_by_role("button", name="Stemmen").count() == 0
