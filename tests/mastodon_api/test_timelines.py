"""Timelines through the Mastodon API: home, public, tag, account statuses, with ``Link``
pagination forwards and back; tribes' boosts and initiatives as statuses (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fedi.domain import follows
from fedi.http.mastodon import status_ids
from models import ApObject, InitiativeSupporter, utcnow
from tests.initiative_helpers import make_initiative, make_world
from tests.mastodon_api.oauth_helpers import bearer
from tests.mastodon_api.status_helpers import (
    get_json,
    link_of,
    person_token,
    post_status,
    status_problems,
)
from tests.tribe_helpers import actor_named, make_remote

pytestmark = pytest.mark.db


async def _follow(app: Any, follower: str, followed: str) -> None:
    async with app.state.db.session() as db:
        await follows.follow(
            db, app.state, await actor_named(db, follower), await actor_named(db, followed)
        )


async def _ids(client: Any, path: str, token: str | None) -> tuple[list[str], Any]:
    response = await client.get(path, headers=bearer(token) if token else {})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return [s["id"] for s in await response.get_json()], response


async def test_home_pages_forwards_and_back(app: Any, client: Any) -> None:
    """Home shows followed people's posts newest first; ``next`` pages back in time,
    ``prev`` (min_id) forwards, ``since_id`` the newest after an id."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    await _follow(app, "bob", "alice")
    posted = [(await post_status(client, alice, status=f"Bericht {n}"))["id"] for n in range(5)]
    newest_first = list(reversed(posted))
    page, response = await _ids(client, "/api/v1/timelines/home?limit=2", bob)
    assert page == newest_first[:2]
    older = link_of(response, "next")
    assert older is not None and "max_id=" in older and "limit=2" in older
    page2, response2 = await _ids(client, older, bob)
    assert page2 == newest_first[2:4]
    page3, response3 = await _ids(client, link_of(response2, "next") or "", bob)
    assert page3 == newest_first[4:]
    last, _ = await _ids(client, link_of(response3, "next") or "", bob)
    assert last == []
    newer, _ = await _ids(client, link_of(response2, "prev") or "", bob)
    assert newer == newest_first[:2]
    since, _ = await _ids(client, f"/api/v1/timelines/home?since_id={posted[1]}&limit=2", bob)
    assert since == newest_first[:2]
    after, _ = await _ids(client, f"/api/v1/timelines/home?min_id={posted[1]}&limit=2", bob)
    assert after == [posted[3], posted[2]]
    # Alice's own home has her posts too; a stranger's home has none of them.
    own, _ = await _ids(client, "/api/v1/timelines/home", alice)
    assert own == newest_first
    _, carol = await person_token(app, "carol")
    assert (await _ids(client, "/api/v1/timelines/home", carol))[0] == []
    assert (await client.get("/api/v1/timelines/home")).status_code == 401


async def test_home_shows_boosts_and_followers_only_posts(app: Any, client: Any) -> None:
    """A boost by someone followed shows as their reblog; followers-only posts reach
    followers only."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    _, carol = await person_token(app, "carol")
    await _follow(app, "carol", "bob")
    original = await post_status(client, alice, status="Boost mij")
    boost = await (
        await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bearer(bob))
    ).get_json()
    private = await post_status(client, bob, status="Voor volgers", visibility="private")
    home = await get_json(client, "/api/v1/timelines/home", carol)
    assert [s["id"] for s in home] == [private["id"], boost["id"]]
    assert home[1]["reblog"]["id"] == original["id"]
    for status in home:
        assert status_problems(status) == []
    public = await get_json(client, "/api/v1/timelines/public")
    assert private["id"] not in [s["id"] for s in public]


async def test_tribe_posts_are_the_tribes_reblogs_and_initiatives_are_statuses(
    app: Any, client: Any
) -> None:
    """A member's post to a tribe reaches the other members' home as the tribe's reblog;
    a public initiative is a status in the public timelines and the creator's statuses."""
    world = await make_world(app)
    from fedi.domain.tokens import create_token

    async with app.state.db.session() as db:
        ann = await create_token(db, "ann", "t")
        bob = await create_token(db, "bob", "t")
    post = await post_status(client, ann, status=f"Welkom @plein@{app.state.settings.host}")
    home = await get_json(client, "/api/v1/timelines/home", bob)
    reblogs = [s for s in home if s["reblog"] and s["reblog"]["id"] == post["id"]]
    assert reblogs, home
    assert reblogs[0]["account"]["id"] == str(world.tribe.actor_id)
    assert reblogs[0]["account"]["group"] is True
    initiative = await make_initiative(app, world, tags=["groen"])
    public = await get_json(client, "/api/v1/timelines/public?local=true")
    shown = [s for s in public if s["uri"].endswith(f"/initiatives/{initiative.id}")]
    assert len(shown) == 1, public
    status = shown[0]
    assert status_problems(status) == []
    assert status["content"].startswith("<p><strong>Terras in de zon</strong></p>")
    assert status["card"]["title"] == "Terras in de zon"
    assert status_ids.decode(status["id"]).kind == status_ids.INITIATIVE  # type: ignore[union-attr]
    assert (await get_json(client, f"/api/v1/statuses/{status['id']}"))["id"] == status["id"]
    # Favouriting an initiative supports it, as the web's button does.
    liked = await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bearer(bob))
    assert liked.status_code == 200, await liked.get_data(as_text=True)
    assert (await liked.get_json())["favourited"] is True
    async with app.state.db.session() as db:
        supporters = (await db.scalars(select(InitiativeSupporter.actor_id))).all()
    assert list(supporters) == [world.bob.id]
    unliked = await client.post(
        f"/api/v1/statuses/{status['id']}/unfavourite", headers=bearer(bob)
    )
    assert (await unliked.get_json())["favourites_count"] == 0
    mine = await get_json(client, f"/api/v1/accounts/{world.ann.id}/statuses")
    assert status["id"] in [s["id"] for s in mine] and post["id"] in [s["id"] for s in mine]
    tagged = await get_json(client, "/api/v1/timelines/tag/groen")
    assert [s["id"] for s in tagged] == [status["id"]]


async def test_public_local_remote_and_tag(app: Any, client: Any) -> None:
    """``local``/``remote`` split the public timeline; a remote post's hashtag finds it."""
    _, alice = await person_token(app, "alice")
    ours = await post_status(client, alice, status="Van hier")
    rik = await make_remote(app, "rik")
    async with app.state.db.session() as db:
        theirs = ApObject(
            ap_id="https://remote.example/notes/1", type="Note", local=False,
            attributed_to_id=rik.id, content_html="<p>Van ver #Plein</p>",
            url="https://remote.example/@rik/1", visibility="public",
            published=utcnow() - timedelta(minutes=1),
            payload={
                "id": "https://remote.example/notes/1", "type": "Note",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "tag": [{"type": "Hashtag", "name": "#Plein",
                         "href": "https://remote.example/tags/plein"}],
                "attachment": [{"type": "Document", "mediaType": "image/jpeg",
                                "url": "https://remote.example/a.jpg", "name": "Een foto"}],
                "contentMap": {"nl": "<p>Van ver #Plein</p>"},
            },
        )
        db.add(theirs)
    everything = [s["id"] for s in await get_json(client, "/api/v1/timelines/public")]
    local = [s["id"] for s in await get_json(client, "/api/v1/timelines/public?local=true")]
    remote = await get_json(client, "/api/v1/timelines/public?remote=true")
    assert everything[0] == ours["id"] and len(everything) == 2
    assert local == [ours["id"]]
    assert len(remote) == 1 and remote[0]["url"] == "https://remote.example/@rik/1"
    assert status_problems(remote[0]) == []
    assert remote[0]["tags"] == [{"name": "plein", "url": "http://localhost:8000/tags/plein"}]
    assert remote[0]["language"] == "nl"
    assert remote[0]["media_attachments"][0]["description"] == "Een foto"
    assert remote[0]["account"]["acct"] == "rik@remote.example"
    tagged = await get_json(client, "/api/v1/timelines/tag/plein")
    assert [s["id"] for s in tagged] == [remote[0]["id"]]
    media_only = await get_json(client, "/api/v1/timelines/public?only_media=true")
    assert [s["id"] for s in media_only] == [remote[0]["id"]]
    tag = await get_json(client, "/api/v1/tags/Plein")
    assert tag == {"name": "plein", "url": "http://localhost:8000/tags/plein", "history": [],
                   "following": False}
    assert await get_json(client, "/api/v1/conversations", alice) == []
    assert await get_json(client, "/api/v1/scheduled_statuses", alice) == []


async def test_remote_poll_is_read_only(app: Any, client: Any) -> None:
    """A stored ``Question`` shows its poll in the status and at ``/api/v1/polls/:id``."""
    rik = await make_remote(app, "rik")
    async with app.state.db.session() as db:
        question = ApObject(
            ap_id="https://remote.example/q/1", type="Question", local=False,
            attributed_to_id=rik.id, content_html="<p>Welke kleur?</p>", visibility="public",
            payload={
                "id": "https://remote.example/q/1", "type": "Question",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "endTime": "2030-01-01T00:00:00Z", "votersCount": 3,
                "oneOf": [
                    {"type": "Note", "name": "Groen", "replies": {"totalItems": 2}},
                    {"type": "Note", "name": "Blauw", "replies": {"totalItems": 1}},
                ],
            },
        )
        db.add(question)
        await db.flush()
        poll_id = question.id
    status = (await get_json(client, "/api/v1/timelines/public"))[0]
    poll = status["poll"]
    assert poll["id"] == str(poll_id) and poll["multiple"] is False
    assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [
        ("Groen", 2), ("Blauw", 1)
    ]
    assert poll["votes_count"] == 3 and poll["voters_count"] == 3
    assert await get_json(client, f"/api/v1/polls/{poll_id}") == poll
    await get_json(client, "/api/v1/polls/999999", status=404)
