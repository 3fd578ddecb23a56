"""Following across two in-process instances: accept, pending, reject, undo, collections."""

from __future__ import annotations

from harness import drain
from social_helpers import AP_HEADERS, follow_rows, inbox_payloads, local, make_person
from sqlalchemy import func, select

from fedi.domain import follows
from fedi.federation.remote.actors import get_or_fetch_actor
from models import Delivery, InboxItem

ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"


async def _follow(app, follower: str, target_id: str):
    state = app.state
    async with state.db.session() as db:
        me = await local(app, follower)
        me = await db.merge(me)
        target = await get_or_fetch_actor(state, db, target_id)
        return await follows.follow(db, state, me, target)


async def _collection(app, path: str) -> list[str]:
    client = app.test_client()
    top = await client.get(path, headers=AP_HEADERS)
    assert top.status_code == 200
    doc = await top.get_json()
    assert doc["type"] == "OrderedCollection"
    page = await client.get(doc["first"].replace("http://localhost:8001", "").replace(
        "http://localhost:8002", ""), headers=AP_HEADERS)
    page_doc = await page.get_json()
    assert page_doc["type"] == "OrderedCollectionPage"
    assert doc["totalItems"] == len(page_doc["orderedItems"])
    return page_doc["orderedItems"]


async def test_follow_is_accepted_and_collections_agree(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(b, "bob")
    row = await _follow(a, "alice", BOB)
    assert row.accepted is False
    await drain(a, b)
    assert await follow_rows(a) == [(ALICE, BOB, True)]
    assert await follow_rows(b) == [(ALICE, BOB, True)]
    assert await _collection(b, "/users/bob/followers") == [ALICE]
    assert await _collection(a, "/users/alice/following") == [BOB]
    assert await _collection(a, "/users/alice/followers") == []


async def test_accept_embeds_the_follow(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(b, "bob")
    row = await _follow(a, "alice", BOB)
    await drain(a, b)
    from sqlalchemy import select

    from models import OutboxActivity

    async with b.state.db.session() as db:
        accept = await db.scalar(select(OutboxActivity).where(OutboxActivity.type == "Accept"))
    assert accept is not None
    assert accept.payload["actor"] == BOB
    assert accept.payload["object"] == {
        "id": row.activity_ap_id, "type": "Follow", "actor": ALICE, "object": BOB,
    }


async def test_locked_account_pending_then_accepted(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    bob = await make_person(b, "bob", locked=True)
    await _follow(a, "alice", BOB)
    await drain(a, b)
    assert await follow_rows(a) == [(ALICE, BOB, False)]
    assert await follow_rows(b) == [(ALICE, BOB, False)]
    assert await _collection(b, "/users/bob/followers") == []
    async with b.state.db.session() as db:
        pending = await follows.pending_requests(db, bob)
        assert [p.ap_id for p in pending] == [ALICE]
        await follows.accept_follow_request(db, b.state, bob, pending[0])
    await drain(a, b)
    assert await follow_rows(a) == [(ALICE, BOB, True)]
    assert await follow_rows(b) == [(ALICE, BOB, True)]
    assert await _collection(b, "/users/bob/followers") == [ALICE]


async def test_locked_account_rejects(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    bob = await make_person(b, "bob", locked=True)
    await _follow(a, "alice", BOB)
    await drain(a, b)
    async with b.state.db.session() as db:
        (alice_remote,) = await follows.pending_requests(db, bob)
        await follows.reject_follow_request(db, b.state, bob, alice_remote)
    await drain(a, b)
    assert await follow_rows(a) == []
    assert await follow_rows(b) == []


async def test_undo_removes_on_both_sides(two_apps):
    a, b = two_apps
    alice = await make_person(a, "alice")
    await make_person(b, "bob")
    await _follow(a, "alice", BOB)
    await drain(a, b)
    async with a.state.db.session() as db:
        bob_remote = await get_or_fetch_actor(a.state, db, BOB)
        await follows.unfollow(db, a.state, alice, bob_remote)
    await drain(a, b)
    assert await follow_rows(a) == []
    assert await follow_rows(b) == []
    assert await _collection(b, "/users/bob/followers") == []


async def test_remove_follower(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    bob = await make_person(b, "bob")
    await _follow(a, "alice", BOB)
    await drain(a, b)
    async with b.state.db.session() as db:
        alice_remote = await get_or_fetch_actor(b.state, db, ALICE)
        await follows.remove_follower(db, b.state, bob, alice_remote)
    await drain(a, b)
    assert await follow_rows(a) == []
    assert await follow_rows(b) == []


async def _count(app, model) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_local_follow_of_locked_local_account_is_a_pending_request(two_apps):
    a, _b = two_apps
    alice = await make_person(a, "alice")
    carol = await make_person(a, "carol", locked=True)
    async with a.state.db.session() as db:
        await follows.follow(db, a.state, alice, carol)
    # Answered in the follow's own transaction: nothing loops back through the inbox.
    assert await follow_rows(a) == [(ALICE, "http://localhost:8001/users/carol", False)]
    assert await _count(a, InboxItem) == 0
    async with a.state.db.session() as db:
        (req,) = await follows.pending_requests(db, carol)
        await follows.accept_follow_request(db, a.state, carol, req)
    assert await follow_rows(a) == [(ALICE, "http://localhost:8001/users/carol", True)]
    # The Follow and the Accept are stored and in the local inboxes, never delivered.
    assert [e["type"] for e in await inbox_payloads(a, "carol")] == ["Follow"]
    assert [e["type"] for e in await inbox_payloads(a, "alice")] == ["Accept"]
    assert await _count(a, Delivery) == 0
    assert await drain(a) == 0


async def test_local_follow_of_open_local_account_is_accepted(two_apps):
    a, _b = two_apps
    alice = await make_person(a, "alice")
    dave = await make_person(a, "dave")
    async with a.state.db.session() as db:
        await follows.follow(db, a.state, alice, dave)
    assert await follow_rows(a) == [(ALICE, "http://localhost:8001/users/dave", True)]
    assert await _count(a, InboxItem) == 0
    assert [e["type"] for e in await inbox_payloads(a, "alice")] == ["Accept"]


async def test_follow_twice_and_redelivery_are_harmless(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(b, "bob")
    await _follow(a, "alice", BOB)
    await drain(a, b)
    again = await _follow(a, "alice", BOB)
    assert again.accepted
    await drain(a, b)
    assert await follow_rows(b) == [(ALICE, BOB, True)]


async def test_cannot_follow_self(two_apps):
    a, _b = two_apps
    alice = await make_person(a, "alice")
    from fedi.domain.errors import ServiceError

    async with a.state.db.session() as db:
        try:
            await follows.follow(db, a.state, alice, alice)
        except ServiceError:
            pass
        else:
            raise AssertionError("following oneself must fail")
