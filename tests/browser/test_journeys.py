"""A newcomer's journeys in Chromium, on a phone (390x844) and a desktop (1280x900) screen.

Register, fill in a profile with talents, join a tribe, start an initiative, add a task,
get an offer of help and accept it, post a message, switch to English. Every page visited
is checked with axe-core (WCAG 2.1 A/AA, tests/axe_helpers.py), and screenshots of the main
pages at both sizes are written to ``build/screenshots/`` (see the README). One browser,
one context per person and screen size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_helpers import assert_accessible
from browser_helpers import PASSWORD, make_people

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


async def check(page: Any, screen: str, name: str, *, shot: bool = True) -> None:
    """axe-core on the page as it is now, and its screenshot as ``<screen>-<name>.png``."""
    await assert_accessible(page, context=f"{name} ({screen})")
    if shot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{screen}-{name}.png"), full_page=True)


async def no_sideways_scroll(page: Any, what: str) -> None:
    """The page is no wider than the screen (long names wrap)."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{what} scrolls sideways: {widths}"


async def submit(page: Any, button: str) -> None:
    """Click the button named ``button`` and wait for the page that answers."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def open_menu(page: Any, screen: str) -> None:
    """On a phone the main menu sits behind the "Menu" button; on a desktop it is shown."""
    toggle = page.locator("label.menu-button")
    if screen == "phone":
        assert await toggle.is_visible()
        assert not await page.locator("#site-menu").is_visible()
        if not await page.locator("#menu-toggle").is_checked():
            await toggle.click()
        assert await page.locator("#site-menu").is_visible()
    else:
        assert not await toggle.is_visible()
        assert await page.locator("#site-menu .main-nav").is_visible()


@pytest.mark.browser
@pytest.mark.live
async def test_newcomer_journeys_on_phone_and_desktop(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    base = server.base_url
    make_people(server, "fatima")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")

    helper_context = await browser.new_context(viewport=VIEWPORTS["desktop"])
    fatima = await helper_context.new_page()
    await fatima.goto(base + "/login")
    await fatima.get_by_label("Naam of e-mailadres").fill("fatima")
    await fatima.get_by_label("Wachtwoord").fill(PASSWORD)
    await submit(fatima, "Inloggen")

    try:
        for members, (screen, name) in enumerate((("phone", "anna"), ("desktop", "bram")), 2):
            context = await browser.new_context(viewport=VIEWPORTS[screen])
            page = await context.new_page()
            try:
                await journey(page, fatima, base, screen, name, members)
            finally:
                await context.close()
    finally:
        await helper_context.close()


async def journey(
    page: Any, fatima: Any, base: str, screen: str, name: str, members: int
) -> None:
    """One newcomer's way through the instance on ``screen``; ``fatima`` (the tribe's
    admin) offers help on the newcomer's task; the tribe has ``members`` after joining."""
    await page.goto(base + "/")
    await check(page, screen, "home")
    await no_sideways_scroll(page, "home")

    # Register through the menu.
    await open_menu(page, screen)
    await page.locator("#site-menu").get_by_role("link", name="Registreren").click()
    await page.wait_for_load_state()
    await check(page, screen, "register")
    await page.get_by_label("Naam", exact=True).fill(name)
    await page.get_by_label("E-mailadres").fill(f"{name}@example.org")
    await page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    await page.get_by_label("Wachtwoord nogmaals").fill(PASSWORD)
    await submit(page, "Maak mijn account aan")
    assert page.url.endswith("/settings/profile")

    # A profile with talents.
    await check(page, screen, "profile-edit")
    await page.locator("#f-bio").fill("Ik woon aan het plein en timmer graag.")
    await page.locator("#f-location").fill("Den Haag")
    await page.locator("#f-talents").fill("timmeren, tekenen")
    await submit(page, "Profiel opslaan")
    assert "Je profiel is opgeslagen." in await page.content()
    assert await page.get_by_role("link", name="timmeren").count() >= 1
    await check(page, screen, "profile")
    await no_sideways_scroll(page, "profile")

    # Join the tribe.
    await page.goto(base + "/tribes/plein")
    await check(page, screen, "tribe")
    await submit(page, "Word lid van deze tribe")
    assert f"{members} leden" in await page.content()
    await check(page, screen, "tribe-member", shot=False)

    # Start an initiative and plan a task.
    await page.get_by_role("link", name="Initiatieven", exact=True).click()
    await page.wait_for_load_state()
    await check(page, screen, "tribe-initiatives")
    await page.get_by_role("link", name="Start een initiatief").click()
    await page.wait_for_load_state()
    await check(page, screen, "initiative-form")
    title = f"Bankjes timmeren met {name}"
    await page.fill("#f-name", title)
    await page.fill("#f-summary", "Samen bankjes maken voor het plein.")
    await submit(page, "Start het initiatief")
    assert "Je initiatief is gestart." in await page.content()
    initiative_url = page.url
    await check(page, screen, "initiative")
    await no_sideways_scroll(page, "initiative")

    await page.get_by_role("link", name="Bord", exact=True).click()
    await page.wait_for_load_state()
    await page.fill("#task-name", "Hout halen")
    await submit(page, "Taak toevoegen")
    await check(page, screen, "board")
    await no_sideways_scroll(page, "board")

    # Fatima offers help on the task; the newcomer accepts it.
    await fatima.goto(initiative_url + "/board")
    await fatima.get_by_role("link", name="Hout halen").click()
    await fatima.wait_for_load_state()
    await fatima.get_by_label("Uren").fill("3")
    await fatima.get_by_label("Motivatie").fill("Ik heb een aanhanger")
    await submit(fatima, "Hulp aanbieden")
    task_url = fatima.url
    await page.goto(task_url)
    await check(page, screen, "task")
    await submit(page, "Accepteren")
    assert "Het aanbod van fatima is aangenomen." in await page.content()
    await check(page, screen, "task-accepted", shot=False)

    # A message in the initiative's conversation.
    await page.goto(initiative_url)
    await page.fill("#message", "Zaterdag om tien uur beginnen we!")
    # With JavaScript the form posts in place (fedi/static/js/live.js) and the message
    # appears without a reload; it is there after one too.
    await page.get_by_role("button", name="Bericht plaatsen", exact=True).click()
    await page.get_by_text("Zaterdag om tien uur beginnen we!").first.wait_for()
    await page.goto(initiative_url)
    assert "Zaterdag om tien uur beginnen we!" in await page.content()
    await check(page, screen, "initiative-conversation")

    # Switch the language: the same page in English.
    await open_menu(page, screen)
    await page.locator("#lang-select").select_option("en")
    await submit(page, "Wissel")
    assert await page.get_attribute("html", "lang") == "en"
    assert "Post message" in await page.content()
    await check(page, screen, "initiative-en")
    await page.goto(base + "/tribes/plein")
    assert f"{members} members" in await page.content()
    await check(page, screen, "tribe-en", shot=False)


async def tab_to(page: Any, matches: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element matches the CSS selector ``matches``."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", matches):
            return
    raise AssertionError(f"Tab never reached {matches!r} on {page.url}")


@pytest.mark.browser
@pytest.mark.live
async def test_keyboard_only_on_a_phone(live_server_factory: Any, browser: Any) -> None:
    """Log in, find a tribe and join it with Tab, Space and Enter alone, on a phone."""
    server = live_server_factory()
    make_people(server, "fatima", "joost")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    context = await browser.new_context(viewport=VIEWPORTS["phone"])
    page = await context.new_page()
    try:
        await page.goto(server.base_url + "/")
        await tab_to(page, "a.skip-link")
        await tab_to(page, "#menu-toggle")
        await page.keyboard.press("Space")  # works without JavaScript too
        assert await page.locator("#site-menu").is_visible()
        await page.keyboard.press("Escape")  # fedi/static/js/menu.js
        assert not await page.locator("#site-menu").is_visible()
        await page.keyboard.press("Enter")
        assert await page.locator("#site-menu").is_visible()
        await tab_to(page, "#site-menu a[href='/login']")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await assert_accessible(page, context="login, keyboard")
        await tab_to(page, "input[name=login]")
        await page.keyboard.type("joost")
        await tab_to(page, "input[name=password]")
        await page.keyboard.type(PASSWORD)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "Welkom terug, joost!" in await page.content()

        await tab_to(page, "#menu-toggle")
        await page.keyboard.press("Enter")
        await tab_to(page, "#site-menu a[href='/tribes']")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await assert_accessible(page, context="tribes, keyboard")
        await tab_to(page, "main a[href='/tribes/plein']")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        await tab_to(page, "main button[type=submit]:not(.link-button)")
        assert "Word lid" in await page.evaluate("() => document.activeElement.textContent")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "2 leden" in await page.content()
        await assert_accessible(page, context="tribe joined, keyboard")
    finally:
        await context.close()


@pytest.mark.browser
@pytest.mark.live
async def test_narrow_phone_without_javascript(live_server_factory: Any, browser: Any) -> None:
    """At 360 px without JavaScript: the menu opens with its button, long names wrap."""
    server = live_server_factory()
    make_people(server, "fatima")
    long_name = ("Buurtvereniging-Oosterparkwijk-Noord-en-omstreken-" * 2)[:99]
    server.cli("tribe", "create", "lang", "--name", long_name, "--owner", "fatima")
    context = await browser.new_context(
        viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    page = await context.new_page()
    try:
        for path in ("/", "/tribes", "/tribes/lang", "/login", "/register", "/about"):
            await page.goto(server.base_url + path)
            await no_sideways_scroll(page, path)
        await page.goto(server.base_url + "/tribes/lang")
        await open_menu(page, "phone")
        await assert_accessible(page, context="menu open at 360 px")
        await page.locator("label.menu-button").click()
        assert not await page.locator("#site-menu").is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "phone-360-long-name.png"), full_page=True)
    finally:
        await context.close()


PUBLIC_PAGES = (
    "/", "/about", "/login", "/register", "/people", "/@fatima", "/tribes", "/tribes/plein",
    "/tribes/plein/initiatives", "/tribes/plein/members", "/discover", "/initiatives",
    "/events", "/nergens",
)
MEMBER_PAGES = (
    "/", "/settings/profile", "/account", "/timeline", "/notifications", "/tribes/new",
)


@pytest.mark.browser
@pytest.mark.live
async def test_pages_pass_axe_on_phone_and_desktop(live_server_factory: Any, browser: Any) -> None:
    """The public pages and a logged-in person's own pages, at both sizes, in Dutch and in
    English, pass axe-core's WCAG 2.1 A/AA rules and do not scroll sideways."""
    server = live_server_factory()
    make_people(server, "fatima")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    for screen, viewport in VIEWPORTS.items():
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        try:
            for path in PUBLIC_PAGES:
                await page.goto(server.base_url + path)
                await assert_accessible(page, context=f"{path} ({screen})")
                await no_sideways_scroll(page, f"{path} ({screen})")
            await page.goto(server.base_url + "/login")
            await page.get_by_label("Naam of e-mailadres").fill("fatima")
            await page.get_by_label("Wachtwoord").fill(PASSWORD)
            await submit(page, "Inloggen")
            for locale in ("nl", "en"):
                if locale == "en":
                    await open_menu(page, screen)
                    await page.locator("#lang-select").select_option("en")
                    await submit(page, "Wissel")
                    assert await page.get_attribute("html", "lang") == "en"
                for path in MEMBER_PAGES:
                    response = await page.goto(server.base_url + path)
                    assert response is not None and response.status < 500, path
                    await assert_accessible(page, context=f"{path} ({screen}, {locale})")
                    await no_sideways_scroll(page, f"{path} ({screen}, {locale})")
        finally:
            await context.close()
