"""In Chromium: an admin acts in the admin pages, then reads and filters the audit log."""

from __future__ import annotations

from typing import Any

import pytest

PASSWORD = "correct horse battery staple 42"


@pytest.mark.browser
@pytest.mark.live
async def test_admin_reads_and_filters_the_audit_log(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    for name, extra in (("beheer", ["--admin"]), ("bewoner", [])):
        server.cli("user", "create", name, "--email", f"{name}@example.org",
                   "--password", PASSWORD, *extra)
    server.cli("domain", "block", "spam.example", "--reason", "advertenties")
    page = await browser.new_page()
    try:
        await page.goto(server.base_url + "/login")
        await page.get_by_label("Naam of e-mailadres").fill("beheer")
        await page.get_by_label("Wachtwoord").fill(PASSWORD)
        await page.get_by_role("button", name="Inloggen").click()
        await page.wait_for_load_state()

        await page.goto(server.base_url + "/admin/users")
        await page.get_by_role("button", name="bewoner blokkeren").click()
        await page.wait_for_load_state()
        await page.get_by_role("link", name="Auditlog").click()
        await page.wait_for_load_state()
        assert await page.get_by_role("heading", level=1).inner_text() == "Auditlog"

        rows = page.locator("tr.audit-entry")
        assert await rows.count() == 2
        newest, oldest = rows.nth(0), rows.nth(1)
        assert "Account uitgeschakeld" in await newest.inner_text()
        assert "beheer" in await newest.inner_text() and "bewoner" in await newest.inner_text()
        # The block came from the command line: no person, and its reason is kept.
        assert "opdrachtregel" in await oldest.inner_text()
        assert "advertenties" in await oldest.inner_text()

        await page.get_by_label("Actie").select_option("domain.block")
        await page.get_by_role("button", name="Tonen").click()
        await page.wait_for_load_state()
        assert page.url.endswith("/admin/audit?action=domain.block")
        assert await rows.count() == 1
        assert "spam.example" in await rows.nth(0).inner_text()
    finally:
        await page.close()
