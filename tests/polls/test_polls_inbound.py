"""Incoming votes and polls through the inbox workers (signed HTTP on the routing transport).

A Mastodon-shaped member's vote (``Create{Note{name, inReplyTo}}``) is counted and never
stored as a reply; the second vote and a non-member's are recorded as ignored with the
reason. A Mastodon ``Question`` becomes a poll here, and its ``Update`` refreshes the
counts and closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from harness import drain, make_app
from routing import RoutingTransport
from sqlalchemy import select
from tribe_fed_helpers import AS, PUBLIC, deliver, remote
from tribe_helpers import make_person, make_tribe

from fedi.domain import polls, tribes
from models import Actor, ApObject, InboxItem, Poll, PollVote, utcnow

A = "http://localhost:8001"


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[tuple[Any, RoutingTransport]]:
    """One in-process instance at localhost:8001 on a routing transport."""
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router)
    async with app.test_app():
        yield app, router
    await router.close()


def _vote(actor: Any, number: int, poll_id: str, author: str, choice: str) -> dict[str, Any]:
    vote_id = f"{actor.id}#votes/{number}"
    return {
        "@context": AS, "id": f"{vote_id}/activity", "type": "Create", "actor": actor.id,
        "to": [author],
        "object": {"id": vote_id, "type": "Note", "name": choice, "attributedTo": actor.id,
                   "to": [author], "inReplyTo": poll_id},
    }


def _one_of(**counts: int) -> list[dict[str, Any]]:
    """A Mastodon ``Question``'s ``oneOf``: one Note per choice with its vote count."""
    return [{"type": "Note", "name": name.capitalize(),
             "replies": {"type": "Collection", "totalItems": count}}
            for name, count in counts.items()]


async def test_votes_from_a_mastodon_member_are_counted_once(instance: Any) -> None:
    app, router = instance
    server, mia = remote(router, "localhost:9001", "mia")
    _other, noor = remote(router, "localhost:9002", "noor")
    await make_person(app, "alice")
    await make_tribe(app, "plein", "alice")
    follow = mia.activity("Follow", f"{A}/tribes/plein")
    assert await deliver(app, mia, follow, "/tribes/plein/inbox") == 202
    await drain(app)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        alice = await db.scalar(select(Actor).where(Actor.username == "alice"))
        assert alice is not None
        poll = await polls.create_poll(
            db, app.state.settings, alice, tribe=tribe, question="Koffie of thee?",
            options=["Koffie", "Thee"], end_time=utcnow().replace(year=2099),
        )
        poll_id, alice_id = str(poll.ap_id), alice.ap_id
    await drain(app)
    assert [b["object"] for b in server.boosts()] == [poll_id]  # the tribe boosts the poll

    for actor, number, choice in ((mia, 1, "Thee"), (mia, 2, "Koffie"), (noor, 1, "Koffie")):
        vote = _vote(actor, number, poll_id, alice_id, choice)
        assert await deliver(app, actor, vote, "/users/alice/inbox") == 202
        await drain(app)
    async with app.state.db.session() as db:
        row = await db.scalar(select(Poll).where(Poll.ap_id == poll_id))
        assert row is not None
        assert [o.votes_count for o in row.options] == [0, 1] and row.voters_count == 1
        votes = (await db.scalars(select(PollVote))).all()
        assert [v.ap_id for v in votes] == [f"{mia.id}#votes/1"]
        # A vote is never a reply: nothing of it was stored as a post.
        assert await db.scalar(select(ApObject).where(ApObject.in_reply_to == poll_id)) is None
        items = {
            i.ap_id: (i.state, i.error)
            for i in (await db.scalars(select(InboxItem).where(InboxItem.type == "Create"))).all()
        }
    assert items[f"{mia.id}#votes/1/activity"][0] == "done"
    state, error = items[f"{mia.id}#votes/2/activity"]
    assert state == "ignored" and "already" in str(error)
    state, error = items[f"{noor.id}#votes/1/activity"]
    assert state == "ignored" and "may not vote" in str(error)
    # The counts went to the voter as Update{Question} (live results).
    updates = [u for u in server.received("Update", "Question") if u["object"]["id"] == poll_id]
    assert updates and updates[-1]["object"]["oneOf"][1]["replies"]["totalItems"] == 1
    assert updates[-1]["object"]["votersCount"] == 1


async def test_a_mastodon_question_becomes_a_poll_and_its_update_closes_it(
    instance: Any,
) -> None:
    app, router = instance
    _server, rik = remote(router, "localhost:9003", "rik")
    await make_person(app, "alice")
    question = {
        "id": rik.server.url("/users/rik/statuses/1"), "type": "Question",
        "attributedTo": rik.id, "content": "<p>Koffie of thee?</p>",
        "published": "2026-12-01T10:00:00Z", "endTime": "2099-01-01T00:00:00Z",
        "votersCount": 1, "to": [PUBLIC], "cc": [rik.id + "/followers"],
        "oneOf": _one_of(koffie=1, thee=0),
    }
    create = rik.activity("Create", question, to=question["to"], cc=question["cc"])
    assert await deliver(app, rik, create) == 202
    await drain(app)
    async with app.state.db.session() as db:
        poll = await db.scalar(select(Poll).where(Poll.ap_id == question["id"]))
        assert poll is not None and not poll.local and poll.closed_at is None
        assert [(o.name, o.votes_count) for o in poll.options] == [("Koffie", 1), ("Thee", 0)]
    closed = {
        **question, "closed": "2026-12-02T10:00:00Z", "votersCount": 3,
        "updated": "2026-12-02T10:00:00Z",
        "oneOf": _one_of(koffie=1, thee=2),
    }
    update = rik.activity("Update", closed, to=question["to"], cc=question["cc"])
    assert await deliver(app, rik, update) == 202
    await drain(app)
    async with app.state.db.session() as db:
        poll = await db.scalar(select(Poll).where(Poll.ap_id == question["id"]))
        assert poll is not None and poll.closed_at is not None and poll.voters_count == 3
        assert [o.votes_count for o in poll.options] == [1, 2]
