"""The initiative page as a conversation: one stream with faces and relative times, edits
merged into sentences, the progress chart with its table, offers with accept and decline."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fedi.domain import contributions, conversation, initiative_board, initiatives
from fedi.domain.initiative_access import get_initiative
from fedi.domain.progress_history import MAX_POINTS, progress_series
from fedi.http.web.initiative_stream import build_chart
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named, login, post_form


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def test_the_stream_reads_as_a_conversation(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    settings = app.state.settings
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        ann = await actor_named(db, "ann")
        # Two edits in a row by ann read as one sentence; an edit naming nothing is left out.
        await initiatives.update_initiative(db, settings, item, ann, summary="Zon op het plein")
        await initiatives.update_initiative(db, settings, item, ann, location="Markt 1")
        entry = await conversation.post_message(db, settings, item, ann, "Wie doet mee?")
        await conversation.add_comment(
            db, settings, item, await actor_named(db, "bob"), "Ik!", update_id=entry.id
        )
        top = await conversation.add_comment(
            db, settings, item, await actor_named(db, "bob"), "Mooi plan"
        )
        await conversation.add_comment(db, settings, item, ann, "Dank je", parent_id=top.id)
    client = app.test_client()
    await login(client, "ann")
    page = await _text(await client.get(f"/initiatives/{initiative.id}"))
    start = page.index('class="stream"')
    stream = page[start:page.index("</section>", start)]
    # Relative times, the absolute time in the title, no ISO log lines.
    assert re.search(
        r'<time data-relative datetime="[^"]+" title="[^"]+">[^<]*(zojuist|minuut|minuten)', page
    )
    assert not re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d<", page)
    # Faces: initials for people without a picture.
    assert 'class="avatar avatar-initials"' in stream
    # The two edits are one entry naming both fields, in Dutch.
    assert stream.count("update-edited") == 1
    assert "ann heeft de samenvatting en de locatie gewijzigd" in stream
    # The message with its reply threaded under it, and the comment with its answer.
    message_at = stream.index("Wie doet mee?")
    assert message_at < stream.index("Ik!")
    assert stream.index("Mooi plan") < stream.index("Dank je")
    # Newest first: the comment thread (last activity) comes before the message.
    assert stream.index("Mooi plan") < message_at


async def test_a_posted_message_is_in_the_list_at_once(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    client = app.test_client()
    await login(client, "bob")
    url = f"/initiatives/{initiative.id}"
    response = await post_form(client, f"{url}/messages", {"content": "Ik breng koffie"}, page=url)
    assert response.status_code == 303
    page = await _text(await client.get(response.headers["Location"]))
    assert "Je bericht is geplaatst." in page
    stream = page[page.index('class="stream"'):]
    assert "Ik breng koffie" in stream


async def test_the_chart_and_its_table(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    task = await make_task(app, initiative)
    await make_task(app, initiative, name="Borden maken")
    settings = app.state.settings
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        offer = await contributions.offer(
            db, settings, item, await actor_named(db, "bob"), task.id, hours="6",
            motivation="Ik zaag",
        )
        await contributions.decide(db, settings, item, await actor_named(db, "ann"), offer.id,
                                   accept=True)
        await initiative_board.complete_task(
            db, settings, item, await actor_named(db, "ann"), task.id
        )
    client = app.test_client()
    page = await _text(await client.get(f"/initiatives/{initiative.id}"))
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "1 van 2 taken klaar en 6 uur hulp aangenomen" in svg
    assert svg.count("<polyline") == 3
    table = page[page.index('<table class="chart-table"'):page.index("</table>")]
    assert "<td>2</td><td>1</td><td>6</td>" in table
    # The old progress bars stay (and their numbers written out).
    assert "<progress" in page


async def test_progress_series_samples_long_initiatives(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        later = date.today() + timedelta(days=400)
        points = await progress_series(db, item, today=later)
    assert len(points) <= MAX_POINTS + 1
    assert points[0].day == date.today() and points[-1].day == later
    chart = build_chart(points)
    assert len(chart.done_line.split()) == len(points)


async def test_offers_with_accept_and_decline_on_the_overview(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    task = await make_task(app, initiative)
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        await contributions.offer(
            db, app.state.settings, item, await actor_named(db, "bob"), task.id, hours="4",
            motivation="Graag",
        )
    url = f"/initiatives/{initiative.id}"
    visitor = await _text(await app.test_client().get(url))
    assert "bob biedt hulp aan bij Stoelen tellen" in visitor
    assert "Het aanbod van bob aannemen" not in visitor
    client = app.test_client()
    await login(client, "ann")
    page = await _text(await client.get(url))
    assert "Het aanbod van bob aannemen" in page
    match = re.search(r'action="(/initiatives/\d+/contributions/\d+/accept)"', page)
    assert match
    response = await post_form(client, match.group(1), {}, page=url)
    assert response.status_code == 303
    after = await _text(await client.get(url))
    assert "Aangenomen" in after and "Het aanbod van bob aannemen" not in after
    # bob is now a partner, shown with the partners.
    people = after[after.index('id="partners-title"'):after.index('id="supporters-title"')]
    assert "bob" in people
