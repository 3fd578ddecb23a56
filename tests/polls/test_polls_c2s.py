"""Polls over the C2S outbox, in process: the same service as the web pages.

``Create{Question}`` about an initiative (its id as ``context``), ``Update{Question}`` to
edit and to close it (the decision then enters the initiative's history), ``Delete`` to
cancel it (its id answers 410); a non-partner's ``Create{Question}`` is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from harness import make_app
from routing import RoutingTransport
from social_helpers import post_outbox, token_for
from sqlalchemy import select

from activitypub.vocab import PUBLIC
from models import InitiativeUpdate, Poll
from tests.initiative_helpers import make_initiative, make_world

AS = "https://www.w3.org/ns/activitystreams"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    """One in-process instance at localhost:8001."""
    router = RoutingTransport()
    instance = await make_app(tmp_path, 8001, router)
    async with instance.test_app():
        yield instance
    await router.close()


async def test_an_initiative_poll_made_edited_closed_and_cancelled_over_c2s(app: Any) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    ann = await token_for(app, "ann")
    page_id = f"{app.state.settings.base_url}/initiatives/{initiative.id}"
    question: dict[str, Any] = {
        "type": "Question", "content": "<p>Starten we in mei?</p>",
        "anyOf": [{"type": "Note", "name": "Mei"}, {"type": "Note", "name": "Juni"}],
        "endTime": "2099-05-01T00:00:00Z", "context": page_id, "voters": "partners",
        "results": "closed", "to": [PUBLIC],
    }
    cas = await token_for(app, "cas")
    refused = await post_outbox(app, "cas", cas, {"@context": AS, "type": "Create",
                                                  "object": question})
    assert refused.status_code == 403

    made = await post_outbox(app, "ann", ann, {"@context": AS, "type": "Create",
                                               "object": question})
    assert made.status_code == 201, await made.get_data(as_text=True)
    created = await made.get_json()
    poll_id = created["object"]["id"]
    assert created["object"]["type"] == "Question" and created["object"]["context"] == page_id
    assert "replies" not in created["object"]["anyOf"][0]  # results hidden until closed
    async with app.state.db.session() as db:
        poll = await db.scalar(select(Poll).where(Poll.ap_id == poll_id))
        assert poll is not None and poll.multiple and poll.voters == "partners"
        assert poll.initiative_id == initiative.id

    edit = {**question, "id": poll_id, "content": "<p>Beginnen we in mei?</p>"}
    edited = await post_outbox(app, "ann", ann, {"@context": AS, "type": "Update", "object": edit})
    assert edited.status_code == 201
    assert (await edited.get_json())["object"]["name"] == "Beginnen we in mei?"

    vote = {"type": "Note", "name": "Juni", "inReplyTo": poll_id, "to": [world.ann.ap_id]}
    voted = await post_outbox(app, "ann", ann, {"@context": AS, "type": "Create", "object": vote})
    assert voted.status_code == 201
    again = await post_outbox(app, "ann", ann, {"@context": AS, "type": "Create", "object": vote})
    assert again.status_code == 409

    closing = await post_outbox(app, "ann", ann, {
        "@context": AS, "type": "Update", "object": {**edit, "closed": True},
    })
    assert closing.status_code == 201
    final = (await closing.get_json())["object"]
    assert final["closed"] and [o["replies"]["totalItems"] for o in final["anyOf"]] == [0, 1]
    async with app.state.db.session() as db:
        entry = await db.scalar(select(InitiativeUpdate).where(
            InitiativeUpdate.kind == "poll_closed"))
        assert entry is not None and entry.payload["winners"] == ["Juni"]

    deleted = await post_outbox(app, "ann", ann, {"@context": AS, "type": "Delete",
                                                  "object": poll_id})
    assert deleted.status_code == 201
    gone = await app.test_client().get(poll_id.removeprefix(app.state.settings.base_url),
                                       headers={"Accept": "application/activity+json"})
    assert gone.status_code == 410
