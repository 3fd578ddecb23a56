"""A second instance of this project follows (joins) a tribe and receives its posts.

Both instances run in-process on one routing transport (``two_apps``): bob on
localhost:8002 finds ``@plein@localhost:8001`` by WebFinger, follows it (which joins an
open tribe), receives alice's tribe post as the tribe's Announces, replies from his own
instance, and sees the post go when a moderator removes it.
"""

from __future__ import annotations

from harness import drain
from social_helpers import local, make_person
from sqlalchemy import select
from tribe_fed_helpers import member_state, stored, tribe_posts
from tribe_helpers import login, post_form

from fedi.domain import follows, notes
from fedi.federation.remote.actors import resolve_handle
from models import Actor, Follow, Reaction

A = "http://localhost:8001"
PLEIN = f"{A}/tribes/plein"


async def test_second_instance_follows_joins_and_receives_posts(two_apps):
    a, b = two_apps
    from tribe_helpers import make_person as make_web_person
    from tribe_helpers import make_tribe

    await make_web_person(a, "alice")
    await make_tribe(a, "plein", "alice")
    await make_person(b, "bob")

    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        group = await resolve_handle(b.state, db, "plein@localhost:8001")
        assert group.type == "Group" and group.ap_id == PLEIN
        await follows.follow(db, b.state, bob, group)
    await drain(a, b)
    assert await member_state(a, "plein", "http://localhost:8002/users/bob") == "active"
    async with b.state.db.session() as db:
        row = await db.scalar(select(Follow))
        assert row is not None and row.accepted

    client = a.test_client()
    await login(client, "alice")
    response = await post_form(
        client, "/tribes/plein/posts", {"content": "Markt op zaterdag!"},
        page="/tribes/plein/activity",
    )
    assert response.status_code == 303
    await drain(a, b)
    ((post_id, is_reply, _state),) = await tribe_posts(a, "plein")
    assert not is_reply
    # Bob's instance fetched the post from its origin and shows the tribe's boost.
    copy = await stored(b, post_id)
    assert copy is not None and "Markt op zaterdag" in copy.content_html
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        timeline = await notes.home_timeline(db, bob)
        assert [entry.note.ap_id for entry in timeline] == [post_id]

    # Bob replies from his instance (addressed to alice, as any client would).
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        reply = await notes.create_note(
            db, b.state, bob, "@alice@localhost:8001 ik kom!", in_reply_to=post_id
        )
    await drain(a, b)
    assert (reply.ap_id, True, "active") in await tribe_posts(a, "plein")

    # A moderator removes the post: it leaves bob's timeline too.
    response = await post_form(
        client, "/tribes/plein/posts/remove", {"object": post_id}, page="/tribes/plein/activity"
    )
    assert response.status_code == 303
    await drain(a, b)
    assert (await stored(b, post_id)).deleted_at is not None
    async with b.state.db.session() as db:
        group_row = await db.scalar(select(Actor).where(Actor.ap_id == PLEIN))
        boosts = await db.scalars(select(Reaction).where(Reaction.actor_id == group_row.id))
        assert boosts.all() == []
