"""Polls in the web pages (Quart test client, SQLite and PostgreSQL).

A member starts a poll on the tribe's Decisions page, another member votes with the radio
form and sees the bars; a second vote is refused with a message, an outsider gets no vote
form and a 403 when posting anyway. On an initiative's Decisions page a partner starts a
poll with hidden results, closes it, and the decision shows in the initiative's history.
A Mastodon poll shown on the timeline is voted from its form: the vote ``Note`` is queued
for the poll author's inbox.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from models import Actor, ApObject, Delivery, Follow, OutboxActivity, Poll, Reaction
from tests.initiative_helpers import make_initiative, make_world
from tests.tribe_helpers import csrf_of, login, post_form


async def _post(client: Any, path: str, form: dict[str, Any], page: str | None = None) -> Any:
    """POST a form whose fields may repeat (a list value: one field per item)."""
    pairs = [("csrf_token", await csrf_of(client, page or path))]
    for key, value in form.items():
        pairs += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    # Quart's test client urlencodes ``form``: a list of pairs keeps repeated fields.
    return await client.post(path, form=pairs)


def _flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', html)


async def _one_poll(app: Any) -> Poll:
    async with app.state.db.session() as db:
        poll = (await db.scalars(select(Poll).order_by(Poll.id.desc()))).first()
        assert poll is not None
        return poll


async def test_members_start_a_poll_and_vote_on_the_tribe_page(app: Any) -> None:
    await make_world(app)
    ann = app.test_client()
    await login(ann, "ann")
    page = "/tribes/plein/polls"
    response = await _post(ann, page, {
        "question": "Waar komt de bank?", "option": ["Bij de fontein", "Onder de boom", ""],
        "duration": "24", "voters": "members", "results": "live",
    })
    assert response.status_code == 303
    html = await (await ann.get(page)).get_data(as_text=True)
    assert _flashes(html) == ["Je peiling is gepubliceerd."]  # Dutch by default
    assert "Waar komt de bank?" in html
    poll = await _one_poll(app)

    bob = app.test_client()
    await login(bob, "bob")
    html = await (await bob.get(page)).get_data(as_text=True)
    assert f'action="/polls/{poll.id}/vote"' in html and 'type="radio"' in html
    token = await csrf_of(bob, page)
    response = await bob.post(f"/polls/{poll.id}/vote",
                              form={"choice": "1", "next": page, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == page
    html = await (await bob.get(page)).get_data(as_text=True)
    assert '<progress class="poll-bar" max="100" value="100"' in html
    assert f'action="/polls/{poll.id}/vote"' not in html  # voted: no form any more
    # A second vote posted anyway is refused with a message; the count stays.
    token = await csrf_of(bob, page)
    response = await bob.post(f"/polls/{poll.id}/vote",
                              form={"choice": "0", "next": page, "csrf_token": token})
    assert response.status_code == 303
    html = await (await bob.get(page)).get_data(as_text=True)
    assert _flashes(html)
    poll = await _one_poll(app)
    assert [o.votes_count for o in poll.options] == [0, 1] and poll.voters_count == 1

    cas = app.test_client()
    await login(cas, "cas")
    html = await (await cas.get(page)).get_data(as_text=True)
    assert f'action="/polls/{poll.id}/vote"' not in html and "Start a poll" not in html
    token = await csrf_of(cas, page)
    response = await cas.post(f"/polls/{poll.id}/vote",
                              form={"choice": "0", "next": page, "csrf_token": token})
    assert response.status_code == 403

    # The Question is at its id for servers; a browser is sent to the poll's page.
    question = await ann.get(f"/polls/{poll.id}", headers={"Accept": "application/activity+json"})
    doc = await question.get_json()
    assert doc["type"] == "Question" and doc["votersCount"] == 1
    assert [o["replies"]["totalItems"] for o in doc["oneOf"]] == [0, 1]
    browser = await ann.get(f"/polls/{poll.id}")
    assert browser.status_code == 303


async def test_a_decision_on_an_initiative_enters_its_history(app: Any) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    ann = app.test_client()
    await login(ann, "ann")
    page = f"/initiatives/{initiative.id}/polls"
    response = await _post(ann, page, {
        "question": "Welke dag beginnen we?", "option": ["Zaterdag", "Zondag"],
        "duration": "72", "voters": "partners", "results": "closed",
    })
    assert response.status_code == 303
    poll = await _one_poll(app)
    assert poll.initiative_id == initiative.id and poll.results == "closed"
    token = await csrf_of(ann, page)
    await ann.post(f"/polls/{poll.id}/vote", form={"choice": "1", "csrf_token": token})
    html = await (await ann.get(page)).get_data(as_text=True)
    assert "poll-bar" not in html  # hidden until closed
    await post_form(ann, f"/polls/{poll.id}/close", {}, page=page)
    html = await (await ann.get(page)).get_data(as_text=True)
    assert '<progress class="poll-bar" max="100" value="100"' in html
    overview = await (await ann.get(f"/initiatives/{initiative.id}")).get_data(as_text=True)
    assert "Welke dag beginnen we?" in overview and "Zondag" in overview


async def test_a_mastodon_poll_on_the_timeline_is_voted_from_here(app: Any) -> None:
    world = await make_world(app)
    question = {
        "id": "https://remote.example/users/rik/statuses/1",
        "type": "Question", "attributedTo": world.rik.ap_id,
        "content": "<p>Koffie of thee?</p>", "endTime": "2099-01-01T00:00:00Z",
        "anyOf": [
            {"type": "Note", "name": "Koffie", "replies": {"type": "Collection", "totalItems": 4}},
            {"type": "Note", "name": "Thee", "replies": {"type": "Collection", "totalItems": 1}},
        ],
        "votersCount": 4, "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [],
    }
    async with app.state.db.session() as db:
        bob = await db.get(Actor, world.bob.id)
        rik = await db.get(Actor, world.rik.id)
        assert bob is not None and rik is not None
        db.add(Follow(follower_id=bob.id, followed_id=rik.id, accepted=True,
                      activity_ap_id=f"{bob.ap_id}#follows/1"))
        db.add(ApObject(ap_id=question["id"], type="Question", local=False,
                        attributed_to_id=rik.id, payload=question,
                        content_html=question["content"]))
    client = app.test_client()
    await login(client, "bob")
    html = await (await client.get("/timeline")).get_data(as_text=True)
    assert 'action="/polls/vote"' in html and 'type="checkbox"' in html
    response = await _post(client, "/polls/vote", {
        "object": question["id"], "choice": ["Koffie", "Thee"], "next": "/timeline",
    }, page="/timeline")
    assert response.status_code == 303
    async with app.state.db.session() as db:
        sent = (await db.scalars(
            select(OutboxActivity).where(OutboxActivity.actor_id == world.bob.id,
                                         OutboxActivity.type == "Create")
        )).all()
        names = sorted(a.payload["object"]["name"] for a in sent)
        assert names == ["Koffie", "Thee"]
        assert all(a.payload["object"]["inReplyTo"] == question["id"] for a in sent)
        inboxes = {d.inbox_url for d in (await db.scalars(select(Delivery))).all()}
        assert world.rik.inbox in inboxes
        assert await db.scalar(select(Reaction.id)) is None  # a vote is no reaction
