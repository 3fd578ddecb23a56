"""Follows, mentions, replies, likes and boosts from another server notify people here.

Two instances in one process on a routing transport (``two_apps``): bob on
``localhost:8002`` acts through his own server's services, which deliver real signed
activities to ``localhost:8001``, where the inbox worker applies them.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from social_helpers import local, make_person
from sqlalchemy import select

from fedi.domain import follows, notes, reactions
from fedi.federation.remote.actors import get_or_fetch_actor
from models import ApObject
from tests.notifications.notify_helpers import kinds_of, notes_of

ANN = "http://localhost:8001/users/ann"
CAS = "http://localhost:8001/users/cas"
DIRK = "http://localhost:8001/users/dirk"


async def test_remote_follows_replies_mentions_likes_and_boosts(two_apps: Any) -> None:
    a, b = two_apps
    await make_person(a, "ann")
    await make_person(a, "cas")
    await make_person(a, "dirk", locked=True)
    await make_person(b, "bob")
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        for target in (ANN, DIRK):
            await follows.follow(db, b.state, bob, await get_or_fetch_actor(b.state, db, target))
    await drain(a, b)
    assert await kinds_of(a, "ann") == ["follow"]
    assert await kinds_of(a, "dirk") == ["follow_request"]
    [follow] = await notes_of(a, "ann", "follow")
    assert follow.payload["handle"] == "bob@localhost:8002"

    async with a.state.db.session() as db:
        ann = await db.merge(await local(a, "ann"))
        post = await notes.create_note(db, a.state, ann, "Wie komt er zaterdag?")
        post_id = post.ap_id
    await drain(a, b)
    async with b.state.db.session() as db:
        assert await db.scalar(select(ApObject).where(ApObject.ap_id == post_id)) is not None
        bob = await db.merge(await local(b, "bob"))
        await get_or_fetch_actor(b.state, db, CAS)  # known, so the mention links
        await notes.create_note(
            db, b.state, bob, "Ik kom! @ann@localhost:8001 @cas@localhost:8001 ook?",
            in_reply_to=post_id,
        )
        await reactions.like(db, b.state, bob, post_id)
        await reactions.announce(db, b.state, bob, post_id)
    await drain(a, b)
    kinds = await kinds_of(a, "ann")
    assert kinds.count("reply") == 1 and "mention" not in kinds
    assert kinds.count("like") == 1 and kinds.count("boost") == 1
    assert await kinds_of(a, "cas") == ["mention"]
    [reply] = await notes_of(a, "ann", "reply")
    assert "Ik kom!" in reply.payload["excerpt"] and reply.email_pending
    [like] = await notes_of(a, "ann", "like")
    assert like.payload["note"] == post_id
    async with a.state.db.session() as db:
        bob_here = await db.get(type(ann), like.actor_id)
        assert bob_here is not None and bob_here.ap_id == "http://localhost:8002/users/bob"

    # Bob's server sends the Follow again (Mastodon does when it thinks it was lost):
    # ann is not told twice.
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        dirk = await get_or_fetch_actor(b.state, db, DIRK)
        await follows.follow(db, b.state, bob, dirk)
    await drain(a, b)
    assert (await kinds_of(a, "dirk")).count("follow_request") == 1
