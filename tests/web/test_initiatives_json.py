"""The JSON side of initiatives: the Page, its Ticket tasks, Notes and collections."""

from __future__ import annotations

from typing import Any

from fedi.domain import conversation, initiative_people, initiatives
from fedi.domain.initiative_access import get_initiative
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named

AP = {"Accept": "application/activity+json"}


async def _json(client: Any, path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=AP)
    assert response.status_code == status, (path, response.status_code)
    return await response.get_json()


async def test_the_page_and_its_collections(app: FediApp) -> None:
    world = await make_world(app)
    item = await make_initiative(
        app, world, description="Een **plan**", tags="horeca", start_date="2026-01-01",
        end_date="2026-06-30", budget_type="hours", budget_amount="40",
    )
    task = await make_task(app, item)
    settings = app.state.settings
    async with app.state.db.session() as db:
        loaded = await get_initiative(db, item.id)
        bob = await actor_named(db, "bob")
        await conversation.post_message(
            db, settings, loaded, await actor_named(db, "ann"), "Welkom"
        )
        await conversation.add_comment(db, settings, loaded, bob, "Leuk", task_id=task.id)
        await initiative_people.support(db, settings, loaded, await actor_named(db, "cas"))
    client = app.test_client()
    base = f"http://localhost:8000/initiatives/{item.id}"
    page = await _json(client, f"/initiatives/{item.id}")
    assert page["type"] == "Page" and page["id"] == base and page["url"] == base
    assert page["name"] == "Terras in de zon" and page["summary"] == "Samen het plein."
    assert "<strong>plan</strong>" in page["content"]
    assert page["source"] == {"content": "Een **plan**", "mediaType": "text/markdown"}
    tribe_id = "http://localhost:8000/tribes/plein"
    assert page["to"] == [tribe_id, "https://www.w3.org/ns/activitystreams#Public"]
    assert page["audience"] == tribe_id and page["attributedTo"].endswith("/users/ann")
    assert page["replies"] == f"{base}/replies" and page["budget"] == 40
    replies = await _json(client, f"/initiatives/{item.id}/replies")
    assert replies["totalItems"] == 2
    first = await _json(client, f"/initiatives/{item.id}/replies?page=1")
    notes = first["orderedItems"]
    assert [n["type"] for n in notes] == ["Note", "Note"]
    assert notes[1]["inReplyTo"] == task.ap_id and notes[1]["context"] == base
    likes = await _json(client, f"/initiatives/{item.id}/likes")
    assert likes["totalItems"] == 2  # cas supports; bob became one by commenting
    ticket = await _json(client, f"/initiatives/{item.id}/tasks/{task.id}")
    assert ticket["type"] == "Ticket" and ticket["isResolved"] is False
    assert ticket["context"] == base
    note_path = notes[1]["id"].removeprefix("http://localhost:8000")
    note = await _json(client, note_path)
    assert note["content"] == notes[1]["content"]
    browser = await client.get(note_path)
    assert browser.status_code == 302


async def test_restricted_and_deleted_initiatives(app: FediApp) -> None:
    world = await make_world(app)
    hidden = await make_initiative(app, world, visibility="members")
    client = app.test_client()
    await _json(client, f"/initiatives/{hidden.id}", 404)
    await _json(client, f"/initiatives/{hidden.id}/replies", 404)
    item = await make_initiative(app, world)
    async with app.state.db.session() as db:
        loaded = await get_initiative(db, item.id)
        await initiatives.delete_initiative(
            db, app.state.settings, loaded, await actor_named(db, "ann")
        )
    tombstone = await _json(client, f"/initiatives/{item.id}", 410)
    assert tombstone["type"] == "Tombstone" and tombstone["formerType"] == "Page"
    await _json(client, "/initiatives/424242", 404)
