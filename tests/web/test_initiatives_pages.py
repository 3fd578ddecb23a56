"""Initiative pages through the test client: forms, permissions, status codes and content."""

from __future__ import annotations

import re
from typing import Any

from fedi.domain.initiative_access import get_initiative
from fedi.domain.initiative_board import lanes_of, tasks_of
from fedi.domain.talents import set_talents
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named, login, post_form


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def test_start_an_initiative_through_the_form(app: FediApp) -> None:
    await make_world(app)
    client = app.test_client()
    await login(client, "ann")
    listing = await _text(await client.get("/tribes/plein/initiatives"))
    assert "/tribes/plein/initiatives/new" in listing
    response = await post_form(
        client, "/tribes/plein/initiatives/new",
        {
            "name": "Terras in de zon", "summary": "Waar de zon schijnt", "phase": "plan",
            "visibility": "public", "budget_type": "money", "budget_amount": "2500",
            "description": "Een **plan**", "tags": "horeca", "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.search(r"/initiatives/\d+$", location)
    page = await _text(await client.get(location))
    assert "Terras in de zon" in page and "<strong>plan</strong>" in page
    assert "€ 2500" in page and "<progress" in page
    tribe_page = await _text(await client.get("/tribes/plein"))
    assert "/tribes/plein/initiatives" in tribe_page
    bad = await post_form(
        client, "/tribes/plein/initiatives/new", {"name": "", "phase": "idea"}
    )
    assert bad.status_code == 400


async def test_who_may_open_the_form(app: FediApp) -> None:
    await make_world(app)
    client = app.test_client()
    assert (await client.get("/tribes/plein/initiatives/new")).status_code == 302
    await login(client, "cas")  # not a member; the policy is "members"
    assert (await client.get("/tribes/plein/initiatives/new")).status_code == 403


async def test_visibility_and_tombstones_on_the_page(app: FediApp) -> None:
    world = await make_world(app)
    hidden = await make_initiative(app, world, visibility="members")
    client = app.test_client()
    assert (await client.get(f"/initiatives/{hidden.id}")).status_code == 404
    await login(client, "bob")
    assert (await client.get(f"/initiatives/{hidden.id}")).status_code == 200
    assert (await client.get(f"/initiatives/{hidden.id}/board")).status_code == 200
    other = app.test_client()
    await login(other, "ann")
    response = await post_form(
        other, f"/initiatives/{hidden.id}/delete", {}, page=f"/initiatives/{hidden.id}"
    )
    assert response.status_code == 303
    assert (await client.get(f"/initiatives/{hidden.id}")).status_code == 410
    assert (await client.get("/initiatives/999999")).status_code == 404


async def test_board_offers_and_decisions_through_forms(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    base = f"/initiatives/{item.id}"
    ann = app.test_client()
    await login(ann, "ann")
    response = await post_form(
        ann, f"{base}/tasks", {"name": "Stoelen tellen", "tags": "tellen"}, page=f"{base}/board"
    )
    assert response.status_code == 303
    await post_form(ann, f"{base}/lanes", {"name": "Bezig"}, page=f"{base}/board")
    async with app.state.db.session() as db:
        loaded = await get_initiative(db, item.id)
        lanes = await lanes_of(db, loaded)
        task = (await tasks_of(db, loaded))[0]
    moved = await post_form(
        ann, f"{base}/tasks/{task.id}/move", {"lane_id": str(lanes[1].id), "position": "1"},
        page=f"{base}/board",
    )
    assert moved.status_code == 303
    board = await _text(await ann.get(f"{base}/board"))
    assert board.index("Bezig") < board.index("Stoelen tellen")

    bob = app.test_client()
    await login(bob, "bob")
    refused = await post_form(bob, f"{base}/tasks", {"name": "Mag niet"}, page=f"{base}/board")
    assert refused.status_code == 403
    task_url = f"{base}/tasks/{task.id}"
    offered = await post_form(
        bob, f"{task_url}/offer", {"hours": "3", "motivation": "Ik help"}, page=task_url
    )
    assert offered.status_code == 303
    page = await _text(await ann.get(task_url))
    assert "Ik help" in page
    cid = re.search(r"/contributions/(\d+)/accept", page)
    assert cid
    accepted = await post_form(
        ann, f"{base}/contributions/{cid.group(1)}/accept", {"task_id": str(task.id)},
        page=task_url,
    )
    assert accepted.status_code == 303
    done = await post_form(bob, f"{task_url}/complete", {}, page=task_url)
    assert done.status_code == 303  # bob is a partner now
    overview = await _text(await ann.get(base))
    assert "1 of 1 tasks done" in overview or "1 van 1 taken klaar" in overview


async def test_comments_mentions_and_notifications(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    base = f"/initiatives/{item.id}"
    cas = app.test_client()
    await login(cas, "cas")
    response = await post_form(cas, f"{base}/comments", {"content": "Hoi @ann!"}, page=base)
    assert response.status_code == 303
    anonymous = app.test_client()
    assert (await anonymous.post(f"{base}/comments", form={"content": "x"})).status_code == 400
    ann = app.test_client()
    await login(ann, "ann")
    notes = await _text(await ann.get("/notifications"))
    assert "cas" in notes and base in notes
    digest = await _text(await ann.get("/notifications/digest"))
    assert "<time" in digest
    saved = await post_form(ann, "/notifications/settings", {"mention-digest": "on"})
    assert saved.status_code == 303
    assert "cas" not in await _text(await ann.get("/notifications"))
    page = await _text(await cas.get(base))
    assert 'class="u-url mention"' in page


async def test_needs_your_talents_and_who_could_help(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world, tags="horeca")
    task = await make_task(app, item, tags="tellen")
    async with app.state.db.session() as db:
        await set_talents(db, await actor_named(db, "cas"), ["tellen"])
    cas = app.test_client()
    await login(cas, "cas")
    page = await _text(await cas.get("/initiatives/matches"))
    assert f"/initiatives/{item.id}/tasks/{task.id}" in page
    task_page = await _text(await cas.get(f"/initiatives/{item.id}/tasks/{task.id}"))
    assert "@cas@" in task_page


async def test_archive_and_partnership_forms(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(app, world)
    base = f"/initiatives/{item.id}"
    bob = app.test_client()
    await login(bob, "bob")
    assert (await post_form(bob, f"{base}/archive", {}, page=base)).status_code == 403
    assert (await post_form(bob, f"{base}/support", {}, page=base)).status_code == 303
    asked = await post_form(bob, f"{base}/partners/request", {"message": "Graag"}, page=base)
    assert asked.status_code == 303
    ann = app.test_client()
    await login(ann, "ann")
    page = await _text(await ann.get(base))
    assert "Graag" in page
    bob_id = world.bob.id
    ok = await post_form(ann, f"{base}/partners/{bob_id}/accept", {}, page=base)
    assert ok.status_code == 303
    assert (await post_form(bob, f"{base}/archive", {}, page=base)).status_code == 303
    edit = await bob.get(f"{base}/edit")
    assert edit.status_code == 200
    refused = await post_form(bob, f"{base}/messages", {"content": "Nog iets"}, page=base)
    assert refused.status_code == 403  # archived: read-only


def _badge(page: str) -> int | None:
    """The unread count in the page header, or None without a badge."""
    found = re.search(r'class="badge"><span class="visually-hidden">[^<]*</span>(\d+)</span>', page)
    return int(found.group(1)) if found else None


async def test_the_page_header_counts_unread_notifications(app: FediApp) -> None:
    """The header's count on a GET comes with the session lookup: it counts what is unread,
    is gone once read, and leaves out a kind switched off in the app."""
    world = await make_world(app)
    item = await make_initiative(app, world)
    base = f"/initiatives/{item.id}"
    cas, ann = app.test_client(), app.test_client()
    await login(cas, "cas")
    await login(ann, "ann")
    await post_form(ann, "/notifications/read", {}, page="/notifications")  # a clean start
    assert _badge(await _text(await ann.get(base))) is None
    await post_form(cas, f"{base}/comments", {"content": "Hoi @ann!"}, page=base)
    await post_form(cas, f"{base}/comments", {"content": "Nog eens @ann"}, page=base)
    assert _badge(await _text(await ann.get(base))) == 2
    assert _badge(await _text(await ann.get("/tribes/plein"))) == 2
    read = await post_form(ann, "/notifications/read", {}, page="/notifications")
    assert read.status_code == 303
    assert _badge(await _text(await ann.get(base))) is None
    await post_form(cas, f"{base}/comments", {"content": "En nog @ann"}, page=base)
    assert _badge(await _text(await ann.get(base))) == 1
    saved = await post_form(ann, "/notifications/settings", {"mention-digest": "on"})
    assert saved.status_code == 303
    assert _badge(await _text(await ann.get(base))) is None
