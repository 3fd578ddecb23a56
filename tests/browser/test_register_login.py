"""End to end in Chromium: register through the real form, log out, log in again, in Dutch."""

from __future__ import annotations

from typing import Any

import pytest

PASSWORD = "Zonnebloem-42"


@pytest.mark.browser
@pytest.mark.live
async def test_register_logout_login_in_dutch(live_server_factory: Any, browser: Any) -> None:
    server = live_server_factory()
    page = await browser.new_page()
    try:
        await page.goto(server.base_url + "/")
        assert await page.get_attribute("html", "lang") == "nl"
        await page.get_by_role("link", name="Registreren").first.click()
        await page.get_by_label("Naam", exact=True).fill("Marieke")
        await page.get_by_label("E-mailadres").fill("marieke@example.org")
        await page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
        await page.get_by_label("Wachtwoord nogmaals").fill(PASSWORD)
        await page.get_by_role("button", name="Maak mijn account aan").click()
        await page.wait_for_load_state()
        assert page.url.endswith("/settings/profile")
        # Logged in: the header offers logging out, and the welcome is in Dutch.
        logout = page.get_by_role("button", name="Uitloggen")
        await logout.wait_for()
        assert "Welkom, marieke!" in await page.content()

        await logout.click()
        await page.wait_for_load_state()
        assert "Je bent uitgelogd." in await page.content()
        await page.get_by_role("link", name="Inloggen").first.click()
        await page.get_by_label("Naam of e-mailadres").fill("marieke")
        await page.get_by_label("Wachtwoord").fill("niet-het-goede-1")
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_load_state()
        error = page.locator("#f-password-error")
        assert "De naam of het wachtwoord klopt niet." in await error.inner_text()
        assert await page.get_by_label("Wachtwoord").get_attribute("aria-invalid") == "true"

        await page.get_by_label("Wachtwoord").fill(PASSWORD)
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_load_state()
        assert "Welkom terug, marieke!" in await page.content()
        await page.get_by_role("link", name="Account").click()
        await page.wait_for_load_state()
        assert await page.get_attribute("html", "lang") == "nl"
        assert await page.get_by_role("heading", level=1).inner_text() == "Je account"
        assert "marieke@example.org" in await page.content()
    finally:
        await page.close()
