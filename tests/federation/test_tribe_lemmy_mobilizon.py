"""A tribe seen from Lemmy- and Mobilizon-shaped servers.

Lemmy follows a community with ``to`` set, posts ``Page``s and ``Note`` comments carrying
``audience``, votes with Like/Dislike and leaves with Undo{Follow}. Mobilizon joins groups
with ``Join``, leaves with ``Leave`` and answers an ``Invite`` with ``Accept``. Both sign
their requests their own way (see ``fakes.FakeActor``).
"""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import select
from tribe_fed_helpers import AS, PUBLIC, deliver, member_state, remote, stored, tribe_posts
from tribe_helpers import actor_named, make_person, make_tribe

from fedi.domain import tribe_invites, tribe_members
from models import Actor, Tribe

A = "http://localhost:8001"
PLEIN = f"{A}/tribes/plein"


def _lemmy(actor: Any, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    doc = {
        "actor": actor.id, "type": kind, "object": obj,
        "id": actor.server.url(f"/activities/{kind.lower()}/{len(actor.server.requests)}-x"),
    }
    doc.update(extra)
    return doc


async def test_lemmy_user_follows_posts_comments_votes_and_leaves(two_apps):
    a, _b = two_apps
    server, lemmy = remote(two_apps.router, "localhost:9003", "lemmy_alpha", flavour="lemmy")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")

    follow = _lemmy(lemmy, "Follow", PLEIN, to=[PLEIN])
    follow["id"] = server.url("/activities/follow/6abcd50b-b8ca-4952-86b0-a6dd8cc12866")
    assert await deliver(a, lemmy, follow, "/tribes/plein/inbox") == 202
    await drain(a)
    (accept,) = server.received("Accept")
    assert accept["object"]["actor"] == lemmy.id and accept["object"]["object"] == PLEIN
    assert await member_state(a, "plein", lemmy.id) == "active"

    page = {
        "type": "Page", "id": server.url("/post/1"), "attributedTo": lemmy.id,
        "to": [PLEIN, PUBLIC], "name": "Bankjes op het plein", "cc": [],
        "content": "<p>Waar moeten ze komen?</p>", "mediaType": "text/html",
        "audience": PLEIN, "published": "2024-05-01T11:45:49Z",
    }
    create = _lemmy(lemmy, "Create", page, to=[PLEIN, PUBLIC], cc=[], audience=PLEIN)
    create["id"] = server.url("/activities/create/1e77d67c")
    assert await deliver(a, lemmy, create, "/tribes/plein/inbox") == 202
    await drain(a)
    comment = {
        "type": "Note", "id": server.url("/comment/1"), "attributedTo": lemmy.id,
        "to": [PUBLIC], "cc": [PLEIN], "audience": PLEIN, "content": "<p>Bij de fontein</p>",
        "inReplyTo": page["id"], "published": "2024-05-01T12:00:00Z",
    }
    create_comment = _lemmy(lemmy, "Create", comment, to=[PUBLIC], cc=[PLEIN], audience=PLEIN)
    create_comment["id"] = server.url("/activities/create/2f88")
    assert await deliver(a, lemmy, create_comment, "/inbox") == 202
    await drain(a)
    assert await tribe_posts(a, "plein") == [
        (page["id"], False, "active"), (comment["id"], True, "active")
    ]
    assert (await stored(a, page["id"])).name == "Bankjes op het plein"
    # Lemmy reads the wrapped activities; the Page is boosted, the comment is not.
    wrapped = [d["object"]["id"] for d in server.received("Announce", "Create")]
    assert wrapped == [create["id"], create_comment["id"]]
    assert [b["object"] for b in server.boosts()] == [page["id"]]

    like = _lemmy(lemmy, "Like", comment["id"], audience=PLEIN)
    like["id"] = server.url("/activities/like/fd61d070")
    dislike = _lemmy(lemmy, "Dislike", page["id"], audience=PLEIN)
    dislike["id"] = server.url("/activities/dislike/aa12")
    for activity in (like, dislike):
        assert await deliver(a, lemmy, activity, "/tribes/plein/inbox") == 202
    await drain(a)
    assert [d["object"]["id"] for d in server.received("Announce", "Like")] == [like["id"]]
    assert [d["object"]["id"] for d in server.received("Announce", "Dislike")] == [dislike["id"]]

    # Lemmy moderation: made core team, lemmy_alpha removes a troll's post with a Delete
    # of it (Lemmy's shape) and bans the troll with Block{target: community}.
    _troll_server, troll = remote(two_apps.router, "localhost:9005", "troll", flavour="lemmy")
    troll_page = dict(page, id=_troll_server.url("/post/9"), attributedTo=troll.id,
                      name="Koop nu!")
    troll_create = _lemmy(troll, "Create", troll_page, to=[PLEIN, PUBLIC], cc=[], audience=PLEIN)
    assert await deliver(a, troll, troll_create, "/tribes/plein/inbox") == 202
    await drain(a)
    assert (troll_page["id"], False, "active") in await tribe_posts(a, "plein")
    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "plein"))
        alice = await actor_named(db, "alice")
        person = await db.scalar(select(Actor).where(Actor.ap_id == lemmy.id))
        await tribe_members.set_role(db, a.state.settings, tribe, alice, person, "moderator")
    mod_delete = _lemmy(lemmy, "Delete", troll_page["id"], to=[PUBLIC], cc=[PLEIN],
                        audience=PLEIN, summary="spam")
    ban = _lemmy(lemmy, "Block", troll.id, to=[PUBLIC], cc=[PLEIN], target=PLEIN,
                 summary="spam post", removeData=True)
    ban["id"] = server.url("/activities/block/5d42")
    for activity in (mod_delete, ban):
        assert await deliver(a, lemmy, activity, "/tribes/plein/inbox") == 202
    await drain(a)
    assert (troll_page["id"], False, "removed") in await tribe_posts(a, "plein")
    assert [r["object"] for r in server.received("Remove")] == [troll_page["id"]]
    again = _lemmy(troll, "Follow", PLEIN, to=[PLEIN])
    assert await deliver(a, troll, again, "/tribes/plein/inbox") == 202
    await drain(a)
    assert [r["object"]["id"] for r in _troll_server.received("Reject")] == [again["id"]]

    undo = _lemmy(lemmy, "Undo", {k: v for k, v in follow.items()}, to=[PLEIN])
    undo["id"] = server.url("/activities/undo/0c3a")
    assert await deliver(a, lemmy, undo, "/tribes/plein/inbox") == 202
    await drain(a)
    assert await member_state(a, "plein", lemmy.id) is None


async def test_mobilizon_joins_leaves_and_accepts_an_invite(two_apps):
    a, _b = two_apps
    server, mobi = remote(two_apps.router, "localhost:9004", "mobi", flavour="mobilizon")
    await make_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    await make_tribe(a, "eiland", "alice", join_mode="invite")

    join = {
        "@context": [AS], "type": "Join", "id": server.url("/join/5c2f"),
        "actor": mobi.id, "object": PLEIN, "participationMessage": "Hallo!",
    }
    assert await deliver(a, mobi, join, "/tribes/plein/inbox") == 202
    await drain(a)
    (accept,) = server.received("Accept")
    assert accept["object"]["type"] == "Join" and accept["object"]["id"] == join["id"]
    assert await member_state(a, "plein", mobi.id) == "active"
    leave = {"@context": [AS], "type": "Leave", "id": server.url("/leave/77"),
             "actor": mobi.id, "object": PLEIN}
    assert await deliver(a, mobi, leave, "/tribes/plein/inbox") == 202
    await drain(a)
    assert await member_state(a, "plein", mobi.id) is None

    # An uninvited Join of an invite-only tribe is refused.
    join_eiland = dict(join, id=server.url("/join/6d3a"), object=f"{A}/tribes/eiland")
    assert await deliver(a, mobi, join_eiland, "/tribes/eiland/inbox") == 202
    await drain(a)
    (reject,) = server.received("Reject")
    assert reject["object"]["id"] == join_eiland["id"]

    async with a.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == "eiland"))
        alice = await actor_named(db, "alice")
        person = await db.scalar(select(Actor).where(Actor.ap_id == mobi.id))
        await tribe_invites.invite_actor(db, a.state.settings, tribe, alice, person)
    await drain(a)
    (invite,) = server.received("Invite")
    assert invite["object"] == f"{A}/tribes/eiland" and invite["target"] == mobi.id
    assert await member_state(a, "eiland", mobi.id) == "invited"
    answer = {"@context": [AS], "type": "Accept", "id": server.url("/accept/9e"),
              "actor": mobi.id, "object": invite["id"]}
    assert await deliver(a, mobi, answer) == 202
    await drain(a)
    assert await member_state(a, "eiland", mobi.id) == "active"
    members = await (
        await a.test_client().get(
            "/tribes/eiland/members?page=1", headers={"Accept": "application/activity+json"}
        )
    ).get_json()
    assert mobi.id in members["orderedItems"]
