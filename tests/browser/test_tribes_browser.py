"""End to end in Chromium without JavaScript: find a tribe, ask to join, an admin approves."""

from __future__ import annotations

from typing import Any

import pytest

PASSWORD = "Zonnebloem-42"


async def _login(browser: Any, base_url: str, name: str) -> Any:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(base_url + "/login")
    await page.get_by_label("Naam of e-mailadres").fill(name)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_load_state()
    return page


@pytest.mark.browser
@pytest.mark.live
async def test_request_to_join_and_approve_without_javascript(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    for name in ("fatima", "henk"):
        server.cli("user", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    server.cli("tribe", "create", "zorginkoop", "--name", "Zorginkoop Rotterdam",
               "--owner", "fatima", "--join", "approval")
    henk = await _login(browser, server.base_url, "henk")
    fatima = await _login(browser, server.base_url, "fatima")
    try:
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
    finally:
        await henk.context.close()
        await fatima.context.close()
