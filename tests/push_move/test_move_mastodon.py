"""An account on a Mastodon-shaped server moves; our follower follows along (FEP-7628).

The remote server is a recording fake on the routing transport (``localhost:9001``) with
real keys, sending Mastodon's ``Move`` (``actor`` = ``object`` = the old account, ``target``
the new one, signed by the old account). Bob on A follows mia there. A move to mia3, who
does not list mia in ``alsoKnownAs``, is refused: bob keeps following mia and nothing is
sent to mia3. A move to mia2, who does, makes bob send ``Follow`` to mia2 and
``Undo{Follow}`` to mia; once mia2 accepts, bob follows mia2 only.
"""

from __future__ import annotations

from typing import Any

import orjson
from fakes import FakeActor
from harness import drain
from sqlalchemy import select
from sqlalchemy.orm import aliased
from tribe_fed_helpers import RecordingServer

from fedi.domain import follows
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.state import FediApp
from models import Actor, Follow
from tests.tribe_helpers import make_person

AS = "https://www.w3.org/ns/activitystreams"
BOB = "http://localhost:8001/users/bob"


async def _deliver(app: FediApp, actor: FakeActor, activity: dict[str, Any]) -> int:
    body = orjson.dumps(activity)
    headers = actor.signed_post("http://localhost:8001/inbox", body)
    response = await app.test_client().post("/inbox", data=body, headers=headers)
    return response.status_code


async def _bob_follows(app: FediApp) -> set[tuple[str, bool]]:
    follower = aliased(Actor)
    async with app.state.db.session() as db:
        rows = await db.execute(
            select(Actor.ap_id, Follow.accepted)
            .join(Follow, Follow.followed_id == Actor.id)
            .join(follower, Follow.follower_id == follower.id)
            .where(follower.ap_id == BOB)
        )
        return {(row[0], bool(row[1])) for row in rows}


async def _accept(app: FediApp, server: RecordingServer, actor: FakeActor) -> None:
    """``actor`` accepts the last Follow it received, as Mastodon answers."""
    follow = [f for f in server.received("Follow") if f["object"] == actor.id][-1]
    accept = actor.activity("Accept", {k: v for k, v in follow.items() if k != "@context"})
    assert await _deliver(app, actor, accept) == 202
    await drain(app)


def _move(origin: FakeActor, target: FakeActor, n: int) -> dict[str, Any]:
    return {"@context": AS, "id": f"{origin.id}#moves/{n}", "type": "Move",
            "actor": origin.id, "object": origin.id, "target": target.id}


async def test_a_mastodon_account_moves_and_our_follower_follows(two_apps: Any) -> None:
    a, _b = two_apps
    server = RecordingServer("localhost:9001")
    two_apps.router.add("localhost:9001", server)
    mia = FakeActor(server, "/users/mia")
    mia2 = FakeActor(server, "/users/mia2")
    mia3 = FakeActor(server, "/users/mia3")
    server.docs["/users/mia2"]["alsoKnownAs"] = [mia.id]  # the proof, as Mastodon's alias
    await make_person(a, "bob")
    async with a.state.db.session() as db:
        bob = await db.scalar(select(Actor).where(Actor.ap_id == BOB))
        assert bob is not None
        await follows.follow(db, a.state, bob, await get_or_fetch_actor(a.state, db, mia.id))
    await drain(a)
    await _accept(a, server, mia)
    assert await _bob_follows(a) == {(mia.id, True)}

    # Not listed as an alias by mia3: refused.
    assert await _deliver(a, mia, _move(mia, mia3, 1)) == 202
    await drain(a)
    assert await _bob_follows(a) == {(mia.id, True)}
    assert not [f for f in server.received("Follow") if f["object"] == mia3.id]

    # mia2 lists mia: bob follows mia2 and unfollows mia.
    assert await _deliver(a, mia, _move(mia, mia2, 2)) == 202
    await drain(a)
    undo = server.received("Undo", "Follow")
    assert undo and undo[-1]["object"]["object"] == mia.id and undo[-1]["actor"] == BOB
    await _accept(a, server, mia2)
    assert await _bob_follows(a) == {(mia2.id, True)}
    async with a.state.db.session() as db:
        old = await db.scalar(select(Actor).where(Actor.ap_id == mia.id))
        assert old is not None and old.moved_to == mia2.id
