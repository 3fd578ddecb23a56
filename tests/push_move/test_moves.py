"""Moving an account between two instances (FEP-7628), over the routed HTTP of ``two_apps``.

Alice on A (localhost:8001) moves to her new account ``alicia`` on B (localhost:8002).
First alicia names alice as an alias on B's settings page (that is "moving here" for B);
then alice starts the move on A's settings page, with her password. Bob on B and carol on
A followed alice: both end up following alicia and no longer alice, A's actor document of
alice says ``movedTo``, and the account is read-only. A move to an account that does not
list alice as an alias is refused on A's page, and a ``Move`` that a server sends anyway is
refused by B (bob keeps following alice).
"""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import select

from activitypub.vocab import PUBLIC
from fedi.domain import follows
from fedi.domain.account_move import set_aliases
from fedi.domain.errors import Conflict
from fedi.federation.outgoing.moves import build_move
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.state import FediApp
from models import Actor, Follow, InboxItem
from tests.tribe_helpers import PASSWORD, csrf_of, login, make_person

ALICE = "http://localhost:8001/users/alice"
ALICIA = "http://localhost:8002/users/alicia"
MALLORY = "http://localhost:8002/users/mallory"


async def _following(app: FediApp, follower_id: str) -> set[tuple[str, bool]]:
    """(followed id, accepted) of every follow ``follower_id`` has on ``app``."""
    async with app.state.db.session() as db:
        follower = await db.scalar(select(Actor).where(Actor.ap_id == follower_id))
        assert follower is not None, follower_id
        rows = await db.execute(
            select(Actor.ap_id, Follow.accepted)
            .join(Follow, Follow.followed_id == Actor.id)
            .where(Follow.follower_id == follower.id)
        )
        return {(row[0], bool(row[1])) for row in rows}


async def _follow(app: FediApp, username: str, target_id: str) -> None:
    async with app.state.db.session() as db:
        person = await db.scalar(
            select(Actor).where(Actor.ap_id == app.state.settings.url(f"/users/{username}"))
        )
        assert person is not None
        await follows.follow(db, app.state, person, await get_or_fetch_actor(
            app.state, db, target_id))


async def _world(two_apps: Any) -> tuple[FediApp, FediApp]:
    a, b = two_apps
    for app, name in ((a, "alice"), (a, "carol"), (b, "alicia"), (b, "bob"), (b, "mallory")):
        await make_person(app, name)
    await _follow(b, "bob", ALICE)
    await _follow(a, "carol", ALICE)
    await drain(a, b)
    assert (ALICE, True) in await _following(b, "http://localhost:8002/users/bob")
    return a, b


async def _form(client: Any, path: str, page: str, form: dict[str, str]) -> Any:
    token = await csrf_of(client, page)
    return await client.post(path, form={"csrf_token": token, **form})


async def test_followers_on_both_servers_follow_the_new_account(two_apps: Any) -> None:
    a, b = await _world(two_apps)

    # On B, alicia names her old account: "moving here" starts with the alias.
    on_b = b.test_client()
    await login(on_b, "alicia")
    saved = await _form(on_b, "/settings/aliases", "/settings/move",
                        {"aliases": "alice@localhost:8001"})
    assert saved.status_code in (302, 303), await saved.get_data(as_text=True)
    doc = await (await b.test_client().get(
        "/users/alicia", headers={"Accept": "application/activity+json"})).get_json()
    assert doc["alsoKnownAs"] == [ALICE]
    await drain(a, b)

    # On A, alice moves; a wrong password changes nothing.
    on_a = a.test_client()
    await login(on_a, "alice")
    wrong = await _form(on_a, "/settings/move", "/settings/move",
                        {"target": "alicia@localhost:8002", "move_password": "nope"})
    assert wrong.status_code == 400
    moved = await _form(on_a, "/settings/move", "/settings/move",
                        {"target": "alicia@localhost:8002", "move_password": PASSWORD})
    assert moved.status_code in (302, 303), await moved.get_data(as_text=True)
    await drain(a, b)

    # bob (on B) and carol (on A) follow alicia now, and not alice.
    assert await _following(b, "http://localhost:8002/users/bob") == {(ALICIA, True)}
    assert await _following(a, "http://localhost:8001/users/carol") == {(ALICIA, True)}
    async with b.state.db.session() as db:
        alicia = await db.scalar(select(Actor).where(Actor.ap_id == ALICIA))
        assert alicia is not None
        followers = set(await db.scalars(
            select(Actor.ap_id).join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == alicia.id, Follow.accepted.is_(True))
        ))
        assert followers == {"http://localhost:8002/users/bob",
                             "http://localhost:8001/users/carol"}
        old = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert old is not None and old.moved_to == ALICIA
        move = await db.scalar(select(InboxItem).where(InboxItem.type == "Move"))
        assert move is not None and move.state == "done"
    # B's Mastodon API shows where she went, as Mastodon's ``moved`` account.
    entity = await (await b.test_client().get(f"/api/v1/accounts/{old.id}")).get_json()
    assert entity["moved"]["acct"] == "alicia"

    # A's document of alice points to the new account; the account is read-only.
    doc = await (await a.test_client().get(
        "/users/alice", headers={"Accept": "application/activity+json"})).get_json()
    assert doc["movedTo"] == ALICIA
    page = await (await on_a.get("/settings/move")).get_data(as_text=True)
    assert 'id="moved-notice"' in page and ALICIA in page
    # The web refuses changes by the moved account (posting, following, editing)...
    token = await csrf_of(on_a, "/settings/move")
    refused = await on_a.post("/settings/profile", form={"csrf_token": token,
                                                         "display_name": "Alice"})
    assert refused.status_code == 403
    assert "verhuisd" in await refused.get_data(as_text=True)
    # ...and the profile page says where she went.
    profile = await (await a.test_client().get("/@alice")).get_data(as_text=True)
    assert "alicia@localhost:8002" in profile or ALICIA in profile
    async with a.state.db.session() as db:
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert alice is not None
        try:
            await set_aliases(db, a.state, alice, [])
        except Conflict:
            pass
        else:
            raise AssertionError("a moved account must be read-only")


async def test_a_move_without_the_alias_is_refused_both_ways(two_apps: Any) -> None:
    a, b = await _world(two_apps)

    # On A's page: mallory on B does not list alice, so alice cannot move there.
    on_a = a.test_client()
    await login(on_a, "alice")
    refused = await _form(on_a, "/settings/move", "/settings/move",
                          {"target": "mallory@localhost:8002", "move_password": PASSWORD})
    assert refused.status_code == 400
    assert "alias" in await refused.get_data(as_text=True)
    async with a.state.db.session() as db:
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert alice is not None and alice.moved_to is None

    # A server that sends the Move anyway (as a broken or hostile one would): B refuses it.
    async with a.state.db.session() as db:
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert alice is not None
        await get_or_fetch_actor(a.state, db, MALLORY)
        move = build_move(new_activity_id(a.state.settings, "move"), ALICE, MALLORY,
                          alice.followers_url or f"{ALICE}/followers")
        move["cc"] = [PUBLIC]
        await publish(db, a.state.settings, alice, move, to_local=False)
    await drain(a, b)
    assert await _following(b, "http://localhost:8002/users/bob") == {(ALICE, True)}
    async with b.state.db.session() as db:
        item = await db.scalar(select(InboxItem).where(InboxItem.type == "Move"))
        assert item is not None and item.state == "ignored"
        assert "alias" in (item.error or "")
        old = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert old is not None and old.moved_to is None
