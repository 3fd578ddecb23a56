"""The whole newcomer journey with the keyboard alone, on a phone (390x844), in Dutch and in
English, on the demo instance that ``make run`` starts (``FEDI_DEMO=1``).

Register, add talents to the profile, find a demo initiative by searching, join its tribe,
start an initiative, add a lane and a task, move the task with the keyboard alternative to
dragging (the Move form), get an offer of help from the demo resident ``lotte`` (a second
browser context, also keyboard only) and accept it, comment on the task, and post a message
that ``lotte`` sees arrive without a reload. Only Tab, Shift+Tab, Enter, Space, arrow keys,
Home/End and typing are used: no clicks. Every control reached must show a visible focus
ring. Each new kind of page passes axe-core (WCAG 2.1 A/AA) and does not scroll sideways.

A last test checks that the logins ``fedi serve`` prints for the demo's resident and tribe
admin work in the login form.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_helpers import assert_accessible
from browser_helpers import PASSWORD

PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000
# A demo initiative in the demo tribe "plein" (fedi/demo_initiatives.py).
DEMO_INITIATIVE = "Terrassen waar de zon schijnt"

# What the pages say, per language (the texts the journey checks).
TEXT = {
    "nl": {
        "profile_saved": "Je profiel is opgeslagen.",
        "join": "Word lid van deze tribe",
        "accepted": "is aangenomen.",
        "moved": "De taak is verplaatst.",
        "lane": "Bezig",
        "task": "Hout halen",
        "comment": "Ik neem de zaag mee.",
        "message": "Zaterdag om tien uur beginnen we!",
        "offer": "Ik heb een aanhanger.",
        "reply": "Ik breng koffie mee.",
    },
    "en": {
        "profile_saved": "Your profile has been saved.",
        "join": "Join this tribe",
        "accepted": "offer has been accepted",
        "moved": "The task has been moved.",
        "lane": "Doing",
        "task": "Fetch wood",
        "comment": "I will bring the saw.",
        "message": "We start on Saturday at ten!",
        "offer": "I have a trailer.",
        "reply": "I will bring coffee.",
    },
}

# The focused element, and whether its focus can be seen: an outline of at least 2px (how
# fedi/static/site.css draws focus); the phone menu's checkbox is drawn as its label, which
# carries the ring.
FOCUS_JS = """(s) => {
  const el = document.activeElement;
  if (!el || !el.matches(s)) return null;
  const shown = el.id === 'menu-toggle' ? document.querySelector('label.menu-button') : el;
  const st = getComputedStyle(shown);
  const box = shown.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return {ring: false, text: 'invisible'};
  const ring = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2;
  return {ring: ring, text: (el.innerText || el.value || '').trim()};
}"""


# Counts the live updates of a page's regions from now on (``live:updated``, fired by
# fedi/static/js/live.js after each).
COUNT_UPDATES_JS = """() => {
  window.__liveUpdates = 0;
  document.addEventListener('live:updated', () => { window.__liveUpdates += 1; });
}"""


async def tab_to(page: Any, selector: str, *, text: str = "", back: bool = False,
                 limit: int = 150) -> None:
    """Press Tab (Shift+Tab with ``back``) until the focused element matches ``selector``
    (and contains ``text``); it must show its focus."""
    key = "Shift+Tab" if back else "Tab"
    for _ in range(limit):
        await page.keyboard.press(key)
        found = await page.evaluate(FOCUS_JS, selector)
        if found is not None and text in found["text"]:
            assert found["ring"], f"{selector} has no visible focus on {page.url}"
            return
    raise AssertionError(f"{key} never reached {selector!r} ({text!r}) on {page.url}")


async def enter_and_wait(page: Any) -> None:
    """Press Enter on the focused control and wait for the page that answers."""
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_load_state()


async def follow(page: Any, selector: str, *, text: str = "") -> None:
    """Tab to a link or button and press Enter; wait for the next page."""
    await tab_to(page, selector, text=text)
    await enter_and_wait(page)


async def fill(page: Any, selector: str, value: str) -> None:
    """Tab to a field and type ``value`` into it."""
    await tab_to(page, selector)
    await page.keyboard.type(value)


async def page_ok(page: Any, what: str) -> None:
    """axe-core passes and the page does not scroll sideways."""
    await assert_accessible(page, context=f"{what} (phone, keyboard)")
    widths = await page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], f"{what} scrolls sideways: {widths}"


async def open_menu(page: Any) -> None:
    """Open the phone menu from the top of the page: Tab to its button, press Space."""
    if await page.locator("#site-menu").is_visible():
        return
    await tab_to(page, "#menu-toggle")
    await page.keyboard.press("Space")
    assert await page.locator("#site-menu").is_visible()


async def switch_language(page: Any, code: str) -> None:
    """Choose ``code`` in the menu's language control with the arrow keys and switch."""
    await open_menu(page)
    await tab_to(page, "#lang-select")
    for _ in range(4):
        if await page.locator("#lang-select").input_value() == code:
            break
        await page.keyboard.press("ArrowDown" if code == "en" else "ArrowUp")
    assert await page.locator("#lang-select").input_value() == code
    await tab_to(page, ".lang-switch button[type=submit]")
    await enter_and_wait(page)
    assert await page.get_attribute("html", "lang") == code


async def keyboard_login(page: Any, base: str, name: str, password: str) -> None:
    """Log in through the menu's login link and the form, keys only."""
    await page.goto(base + "/")
    await open_menu(page)
    await follow(page, "#site-menu a[href^='/login']")
    await fill(page, "input[name=login]", name)
    await fill(page, "input[name=password]", password)
    await enter_and_wait(page)
    assert "/login" not in page.url, f"{name} could not log in"


async def wait_connected(page: Any) -> None:
    """Wait for the live stream and mark the document (a reload would lose the mark)."""
    await page.wait_for_selector("html[data-live='connected']", timeout=WAIT_MS)
    await page.evaluate("window.__noReload = 'still here'")


@pytest.mark.browser
@pytest.mark.live
async def test_newcomer_journey_keyboard_only_on_a_phone_in_dutch_and_english(
    live_server_factory: Any, browser: Any
) -> None:
    """A newcomer in Dutch, then one in English, on one demo instance (``make run``)."""
    server = live_server_factory(FEDI_DEMO="1")
    found = re.search(r"name: lotte\s+password: (\S+)", server.log())
    assert found, server.log()
    lotte_password = found.group(1)
    for code, name in (("nl", "anouk"), ("en", "bruce")):
        await journey(browser, server.base_url, code, name, lotte_password)


async def journey(browser: Any, base: str, code: str, name: str, lotte_password: str) -> None:
    """One newcomer, keys only, in language ``code``; lotte helps in a second context."""
    text = TEXT[code]
    # Most pages run axe-core in both languages; a few (the saved profile, the demo
    # initiative, the tribe, the initiative form) only in the first, to keep the run short.
    first = code == "nl"
    context = await browser.new_context(viewport=PHONE)
    helper = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    lotte = await helper.new_page()
    try:
        await page.goto(base + "/")
        if code == "en":
            await switch_language(page, "en")
        assert await page.get_attribute("html", "lang") == code
        await page_ok(page, f"home ({code})")

        # Register through the menu.
        await open_menu(page)
        await follow(page, "#site-menu a[href^='/register']")
        await page_ok(page, f"register ({code})")
        await fill(page, "input[name=username]", name)
        await fill(page, "input[name=email]", f"{name}@example.org")
        await fill(page, "input[name=password]", PASSWORD)
        await fill(page, "input[name=password_confirm]", PASSWORD)
        await follow(page, "main button[type=submit]")
        assert page.url.endswith("/settings/profile"), page.url
        assert await page.get_attribute("html", "lang") == code

        # Talents on the profile.
        await page_ok(page, f"profile form ({code})")
        await fill(page, "#f-talents", "timmeren, tekenen")
        await follow(page, "main form.profile-form button[type=submit]")
        assert text["profile_saved"] in await page.content()
        assert await page.locator("main a", has_text="timmeren").count() >= 1
        if first:
            await page_ok(page, "profile")

        # Discover a demo initiative by searching.
        await open_menu(page)
        await follow(page, "#site-menu a[href^='/discover']")
        await fill(page, "#discover-q", "terras")
        await enter_and_wait(page)
        assert "q=terras" in page.url
        await page_ok(page, f"discover results ({code})")
        await follow(page, "main a", text=DEMO_INITIATIVE)
        assert DEMO_INITIATIVE in await page.locator("h1").inner_text()
        if first:
            await page_ok(page, "demo initiative")

        # Its tribe, and join it.
        await follow(page, "main a[href='/tribes/plein/initiatives']")
        await follow(page, "main h1 a[href='/tribes/plein']")
        await follow(page, "main button[type=submit]", text=text["join"])
        assert await page.locator("main button", has_text=text["join"]).count() == 0
        assert await page.locator("main form[action$='/leave'] button").count() == 1
        if first:
            await page_ok(page, "tribe, member")

        # Start an initiative.
        await follow(page, "main a[href='/tribes/plein/initiatives']")
        await follow(page, "main a[href='/tribes/plein/initiatives/new']")
        if first:
            await page_ok(page, "initiative form")
        title = f"Bankjes timmeren met {name}"
        await fill(page, "#f-name", title)
        await fill(page, "#f-summary", "Samen bankjes maken voor het plein.")
        await follow(page, "main form button[type=submit]")
        assert title in await page.locator("h1").inner_text()
        initiative_url = page.url
        await page_ok(page, f"new initiative ({code})")

        # The board: a lane and a task, then move the task with its Move form.
        await follow(page, "main nav a[href$='/board']")
        await fill(page, "#lane-new", text["lane"])
        await enter_and_wait(page)  # Enter in the field submits "Add lane"
        await fill(page, "#task-name", text["task"])
        await enter_and_wait(page)  # ... and "Add task"
        task_link = page.locator("li.task a", has_text=text["task"])
        assert await task_link.count() == 1
        await page_ok(page, f"board ({code})")
        await wait_connected(page)
        # The keyboard alternative to dragging: the task's Move form, lane chosen with End.
        await tab_to(page, "li.task form.move select")
        await page.keyboard.press("End")
        await tab_to(page, "li.task form.move button[type=submit]")
        await page.keyboard.press("Enter")  # posts in place (fedi/static/js/live.js)
        lane = page.locator("section.lane", has=page.locator("h3", has_text=text["lane"]))
        await lane.locator("li.task a", has_text=text["task"]).wait_for(timeout=WAIT_MS)
        await page.locator(".flashes", has_text=text["moved"]).wait_for(timeout=WAIT_MS)

        # After the in-place move, focus went to the announced outcome (the flash at the top
        # of the content); Tab goes on from there to the task's link on the same board.
        assert await page.evaluate("() => !!document.activeElement.closest('.flashes')")
        await tab_to(page, "li.task a", text=text["task"])
        await page.evaluate(COUNT_UPDATES_JS)

        # lotte, in a second context, offers help on the task (keys only too).
        await keyboard_login(lotte, base, "lotte", lotte_password)
        await lotte.goto(initiative_url + "/board")  # as a shared link would
        await follow(lotte, "li.task a", text=text["task"])
        await fill(lotte, "#offer-hours", "3")
        await fill(lotte, "#offer-motivation", text["offer"])
        await follow(lotte, "main form.panel button[type=submit]")
        assert text["offer"] in await lotte.content()

        # The offer reaches the newcomer's board, which is brought up to date around the
        # link they are on: the focus stays on it (a link has no id to find it by).
        await page.wait_for_function("() => window.__liveUpdates > 0", timeout=WAIT_MS)
        assert await page.evaluate(FOCUS_JS, "li.task a") is not None
        # The newcomer opens the task from the board and accepts the offer.
        await enter_and_wait(page)
        assert text["offer"] in await page.content()
        await page_ok(page, f"task with an offer ({code})")
        await follow(page, "li.offer form button[type=submit]")
        assert text["accepted"] in await page.content()

        # A comment on the task, posted in place.
        await fill(page, "section[aria-labelledby=task-conversation-title] textarea",
                   text["comment"])
        await tab_to(page, "section[aria-labelledby=task-conversation-title] "
                           "button[type=submit]")
        await page.keyboard.press("Enter")
        await page.locator("li.comment", has_text=text["comment"]).wait_for(timeout=WAIT_MS)
        await page_ok(page, f"task with a comment ({code})")

        # A message on the overview arrives at lotte's without a reload.
        await lotte.goto(initiative_url)
        await wait_connected(lotte)
        await follow(page, "main nav a[href='" + initiative_url.removeprefix(base) + "']")
        await fill(page, "#message", text["message"])
        await tab_to(page, "form.composer button[type=submit]")
        await page.keyboard.press("Enter")
        await page.locator("ol.stream", has_text=text["message"]).wait_for(timeout=WAIT_MS)
        await lotte.locator("ol.stream", has_text=text["message"]).wait_for(timeout=WAIT_MS)
        assert await lotte.evaluate("window.__noReload === 'still here'")
        await page_ok(page, f"initiative with a message ({code})")

        # lotte answers under the message: a Reply disclosure opened with Enter; the answer
        # arrives at the newcomer's page without a reload.
        await page.evaluate("window.__noReload = 'still here'")
        await tab_to(lotte, "li.update-message details.reply summary")
        await lotte.keyboard.press("Enter")
        assert await lotte.locator("li.update-message details.reply[open]").count() == 1
        await fill(lotte, "li.update-message details.reply textarea", text["reply"])
        await tab_to(lotte, "li.update-message details.reply button[type=submit]")
        await lotte.keyboard.press("Enter")
        await page.locator("ol.stream li.comment", has_text=text["reply"]).wait_for(
            timeout=WAIT_MS
        )
        assert await page.evaluate("window.__noReload === 'still here'")

        if code == "nl":
            # The language control works both ways: the same page, now in English.
            await tab_to(page, "a.skip-link", back=True, limit=400)
            await switch_language(page, "en")
            assert page.url == initiative_url
            assert "Post message" in await page.content()
    finally:
        await context.close()
        await helper.close()


@pytest.mark.browser
@pytest.mark.live
async def test_the_printed_demo_logins_work(live_server_factory: Any, browser: Any) -> None:
    """``make run`` (``FEDI_DEMO=1 fedi serve`` on a fresh data directory) prints logins for
    a resident and a tribe admin; both log in through the form and see their own pages."""
    server = live_server_factory(FEDI_DEMO="1")
    log = server.log()
    for name in ("lotte", "fatima"):
        found = re.search(rf"name: {name}\s+password: (\S+)", log)
        assert found, log
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        try:
            await keyboard_login(page, server.base_url, name, found.group(1))
            await open_menu(page)
            profile = page.locator(f"#site-menu a[href='/@{name}']")
            assert await profile.count() == 1, f"{name} is not logged in"
            if name == "fatima":  # the tribe admin may open the demo tribe's settings
                response = await page.goto(server.base_url + "/tribes/plein/settings")
                assert response is not None and response.status == 200
        finally:
            await context.close()
