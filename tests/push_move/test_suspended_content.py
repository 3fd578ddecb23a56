"""A suspended person's content is hidden while the suspension lasts, and comes back after.

As Mastodon does: nothing is deleted, but the tribe's threads and outbox, the initiative's
messages and comments, others' home timelines, the profile and the person's outbox show
nothing of theirs; lifting the suspension shows it all again. Others' content stays.
"""

from __future__ import annotations

import pytest

from fedi.domain import conversation, follows, notes
from fedi.domain.account_suspension import suspend_account, unsuspend_account
from fedi.domain.initiative_access import get_initiative
from fedi.state import FediApp
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import actor_named, login, post_form

pytestmark = pytest.mark.db

AP_HEADERS = {"Accept": "application/activity+json"}


async def _text(app: FediApp, path: str, headers: dict[str, str] | None = None) -> str:
    response = await app.test_client().get(path, headers=headers or {})
    assert response.status_code == 200, (path, response.status_code)
    return str(await response.get_data(as_text=True))


async def _suspended(app: FediApp, name: str, on: bool) -> None:
    async with app.state.db.session() as db:
        if on:
            await suspend_account(db, app.state.settings, name, acting=None)
        else:
            await unsuspend_account(db, app.state.settings, name, acting=None)


async def test_tribe_threads_outbox_and_profile(app: FediApp) -> None:
    await make_world(app)
    for name, text in (("bob", "Rommelmarkt van Bob"), ("ann", "Koffie bij Ann")):
        client = app.test_client()
        await login(client, name)
        response = await post_form(client, "/tribes/plein/posts", {"content": text},
                                   page="/tribes/plein/activity")
        assert response.status_code == 303, name
    async with app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        hoi = await notes.create_note(db, app.state, await actor_named(db, "bob"), "Bob zegt hoi")
        note_path = hoi.ap_id.removeprefix(app.state.settings.base_url)
        # ann follows bob: his notes are on her home timeline.
        await follows.follow(db, app.state, ann, await actor_named(db, "bob"))

    async def shown() -> dict[str, bool]:
        activity = await _text(app, "/tribes/plein/activity")
        outbox = await _text(app, "/tribes/plein/outbox?page=1", AP_HEADERS)
        async with app.state.db.session() as db:
            home = await notes.home_timeline(db, await actor_named(db, "ann"))
        assert "Koffie bij Ann" in activity  # others' posts stay
        return {
            "activity": "Rommelmarkt van Bob" in activity,
            "outbox": "Rommelmarkt van Bob" in outbox,
            "home": any("Bob zegt hoi" in entry.note.content_html for entry in home),
        }

    assert await shown() == {"activity": True, "outbox": True, "home": True}
    assert "Koffie bij Ann" in await _text(app, "/tribes/plein/outbox?page=1", AP_HEADERS)

    await _suspended(app, "bob", True)
    assert await shown() == {"activity": False, "outbox": False, "home": False}
    client = app.test_client()
    assert (await client.get("/@bob")).status_code == 410
    assert (await client.get("/users/bob/outbox?page=1", headers=AP_HEADERS)).status_code == 404
    # The note's own page and document are not served either.
    for headers in (AP_HEADERS, {}):
        assert (await client.get(note_path, headers=headers)).status_code == 404

    await _suspended(app, "bob", False)
    assert await shown() == {"activity": True, "outbox": True, "home": True}
    assert (await client.get("/@bob")).status_code == 200
    outbox = await _text(app, "/users/bob/outbox?page=1", AP_HEADERS)
    assert "Bob zegt hoi" in outbox
    assert "Bob zegt hoi" in await _text(app, note_path)


async def test_initiative_messages_and_comments(app: FediApp) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    settings = app.state.settings
    async with app.state.db.session() as db:
        item = await get_initiative(db, initiative.id)
        bob = await actor_named(db, "bob")
        ann = await actor_named(db, "ann")
        message = await conversation.post_message(db, settings, item, bob, "Bericht van Bob")
        await conversation.add_comment(db, settings, item, ann, "Antwoord van Ann",
                                       update_id=message.id)
        await conversation.add_comment(db, settings, item, bob, "Reactie van Bob")
        await conversation.post_message(db, settings, item, ann, "Bericht van Ann")

    async def page() -> str:
        client = app.test_client()
        await login(client, "cas")
        return str(await (await client.get(f"/initiatives/{initiative.id}")).get_data(
            as_text=True))

    before = await page()
    assert "Bericht van Bob" in before and "Reactie van Bob" in before
    await _suspended(app, "bob", True)
    during = await page()
    assert "Bericht van Bob" not in during and "Reactie van Bob" not in during
    assert "Bericht van Ann" in during
    tribe_activity = await _text(app, "/tribes/plein/activity")
    assert "Bericht van Bob" not in tribe_activity
    await _suspended(app, "bob", False)
    after = await page()
    assert "Bericht van Bob" in after and "Reactie van Bob" in after
