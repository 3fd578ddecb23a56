"""Two people in two Chromium windows on one initiative: what one does appears at the other's
without a reload (server-sent events); tasks move by drag and drop, and by keyboard with the
Move form; the pages pass axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import login, make_people

from tests.axe_helpers import assert_accessible

WAIT_MS = 20_000


async def _page(browser: Any, base_url: str, name: str, **context_args: Any) -> Any:
    """A logged-in page with JavaScript on (the live parts need it)."""
    return await login(browser, base_url, name, **{"java_script_enabled": True, **context_args})


async def _mark_and_connect(page: Any, url: str) -> None:
    """Open ``url``, wait for the live stream, and mark the document: a reload would lose
    the mark, so a test can prove that something arrived without one."""
    await page.goto(url)
    await page.wait_for_selector("html[data-live='connected']", timeout=WAIT_MS)
    await page.evaluate("window.__noReload = 'still here'")


async def _not_reloaded(page: Any) -> bool:
    return bool(await page.evaluate("window.__noReload === 'still here'"))


async def _start_initiative(page: Any, base_url: str) -> str:
    await page.goto(base_url + "/tribes/plein/initiatives/new")
    await page.fill("#f-name", "Bankjes timmeren")
    await page.fill("#f-summary", "Nieuwe bankjes voor het plein.")
    await page.get_by_role("button", name="Start het initiatief").click()
    await page.wait_for_load_state()
    return str(page.url)


@pytest.mark.browser
@pytest.mark.live
async def test_messages_comments_and_the_notification_count_arrive_live(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "joost")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    fatima = await _page(browser, server.base_url, "fatima")
    joost = await _page(browser, server.base_url, "joost")
    try:
        url = await _start_initiative(fatima, server.base_url)
        await _mark_and_connect(fatima, url)
        await _mark_and_connect(joost, url)

        # fatima posts a message: it is in her list at once, and appears at joost's.
        await fatima.fill("#message", "Wie heeft er een zaag?")
        await fatima.get_by_role("button", name="Bericht plaatsen").click()
        stream = fatima.locator("ol.stream")
        await stream.get_by_text("Wie heeft er een zaag?").wait_for(timeout=WAIT_MS)
        assert await fatima.locator(".flashes").get_by_text("Je bericht is geplaatst.").count()
        assert await fatima.input_value("#message") == ""
        await joost.locator("ol.stream").get_by_text("Wie heeft er een zaag?").wait_for(
            timeout=WAIT_MS
        )
        assert await _not_reloaded(joost) and await _not_reloaded(fatima)

        # joost answers under the message; fatima sees the answer arrive.
        message = joost.locator("li.update-message").first
        await message.locator("summary", has_text="Reageren").click()
        await message.get_by_label("Je antwoord").fill("Ik breng er twee mee")
        await message.get_by_role("button", name="Plaatsen").click()
        await fatima.locator("ol.stream").get_by_text("Ik breng er twee mee").wait_for(
            timeout=WAIT_MS
        )
        assert await _not_reloaded(fatima)
        # The answer is threaded under the message, with a relative time.
        answer = fatima.locator("li.update-message .comments li.comment").first
        await answer.get_by_text("Ik breng er twee mee").wait_for(timeout=WAIT_MS)
        assert re.search(r"geleden|zojuist", await answer.locator("time").inner_text())

        # The comment notified fatima: her header count went up without a reload.
        badge = fatima.locator('.main-nav a[href$="/notifications"] .badge')
        await badge.wait_for(timeout=WAIT_MS)
        assert re.search(r"\d", await badge.inner_text())
        assert await _not_reloaded(fatima)
        await assert_accessible(fatima, context="initiative page with a conversation")
    finally:
        await fatima.context.close()
        await joost.context.close()


@pytest.mark.browser
@pytest.mark.live
async def test_tasks_move_by_drag_and_drop_and_by_keyboard_and_others_see_it(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima", "joost")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    fatima = await _page(browser, server.base_url, "fatima")
    joost = await _page(browser, server.base_url, "joost")
    try:
        url = await _start_initiative(fatima, server.base_url)
        board = url + "/board"
        await fatima.goto(board)
        await fatima.fill("#lane-new", "Bezig")
        await fatima.get_by_role("button", name="Kolom toevoegen").click()
        await fatima.wait_for_load_state()
        for name in ("Hout halen", "Zagen"):
            await fatima.fill("#task-name", name)
            await fatima.get_by_role("button", name="Taak toevoegen").click()
            await fatima.wait_for_load_state()
        await _mark_and_connect(fatima, board)
        await _mark_and_connect(joost, board)
        busy = "section.lane:has(h3:has-text('Bezig'))"

        # Drag and drop: "Zagen" into the lane Bezig.
        # Taken by its edge, as a hand would (the middle of the card is its Move form).
        await fatima.drag_and_drop(
            "li.task:has-text('Zagen')", busy, source_position={"x": 6, "y": 6}
        )
        await fatima.locator(busy).get_by_role("link", name="Zagen").wait_for(timeout=WAIT_MS)
        await fatima.locator(".flashes").get_by_text("De taak is verplaatst.").wait_for(
            timeout=WAIT_MS
        )
        # joost (no partner, no dragging for him) sees the task arrive in the lane.
        await joost.locator(busy).get_by_role("link", name="Zagen").wait_for(timeout=WAIT_MS)
        assert await joost.locator("li.task[draggable='true']").count() == 0
        assert await _not_reloaded(joost) and await _not_reloaded(fatima)

        # The keyboard way: the Move form under "Hout halen", used with keys only.
        lane_select = fatima.locator("li.task:has-text('Hout halen') form.move select")
        await lane_select.focus()
        await fatima.keyboard.press("End")  # the last lane: Bezig
        assert await lane_select.evaluate("s => s.options[s.selectedIndex].text") == "Bezig"
        await fatima.keyboard.press("Tab")  # the place
        await fatima.keyboard.press("Tab")  # the Move button
        await fatima.keyboard.press("Enter")
        await fatima.locator(busy).get_by_role("link", name="Hout halen").wait_for(
            timeout=WAIT_MS
        )
        await joost.locator(busy).get_by_role("link", name="Hout halen").wait_for(
            timeout=WAIT_MS
        )
        assert await _not_reloaded(joost)
        await assert_accessible(fatima, context="board after moves")

        # The overview's progress follows: joost sees the task count in the chart's table.
        await _mark_and_connect(joost, url)
        await fatima.locator("li.task:has-text('Zagen') form.inline button").click()
        await joost.locator(".panel.progress").get_by_text("1 van 2 taken klaar").wait_for(
            timeout=WAIT_MS
        )
        assert await _not_reloaded(joost)
    finally:
        await fatima.context.close()
        await joost.context.close()


@pytest.mark.browser
@pytest.mark.live
async def test_without_javascript_the_forms_still_work(
    live_server_factory: Any, browser: Any
) -> None:
    server = live_server_factory()
    make_people(server, "fatima")
    server.cli("tribe", "create", "plein", "--name", "Plein", "--owner", "fatima")
    fatima = await _page(browser, server.base_url, "fatima", java_script_enabled=False)
    try:
        url = await _start_initiative(fatima, server.base_url)
        await fatima.fill("#message", "Zonder script")
        await fatima.get_by_role("button", name="Bericht plaatsen").click()
        await fatima.wait_for_load_state()
        assert fatima.url.startswith(url)
        assert await fatima.locator("ol.stream").get_by_text("Zonder script").count() == 1
        assert "Je bericht is geplaatst." in await fatima.content()
    finally:
        await fatima.context.close()
