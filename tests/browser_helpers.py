"""Helpers for the Chromium tests (the ``browser`` and ``live_server_factory`` fixtures):
people on a live instance, and a logged-in page each, without JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

PASSWORD = "Zonnebloem-42"


def make_people(server: Any, *names: str) -> None:
    """Accounts ``names`` on the live ``server`` (e-mail ``<name>@example.org``,
    password :data:`PASSWORD`)."""
    for name in names:
        server.cli("user", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)


async def login(browser: Any, base_url: str, name: str, **context_args: Any) -> Any:
    """A page in a fresh browser context (JavaScript off unless ``context_args`` say
    otherwise), logged in as ``name`` through the login form; close it with
    ``page.context.close()``."""
    context = await browser.new_context(**{"java_script_enabled": False, **context_args})
    page = await context.new_page()
    await page.goto(base_url + "/login")
    await page.get_by_label("Naam of e-mailadres").fill(name)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_load_state()
    return page


@asynccontextmanager
async def logged_in(browser: Any, base_url: str, *names: str) -> AsyncIterator[list[Any]]:
    """One logged-in page per name (see :func:`login`), in that order; their browser
    contexts are closed on leaving the block."""
    pages = [await login(browser, base_url, name) for name in names]
    try:
        yield pages
    finally:
        for page in pages:
            await page.context.close()
