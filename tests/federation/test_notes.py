"""Notes across two in-process instances: addressing by visibility, update, delete, reactions."""

from __future__ import annotations

import pytest
from harness import drain
from social_helpers import (
    AP_HEADERS,
    inbox_payloads,
    local,
    make_person,
    reaction_count,
    stored_object,
)

from activitypub.fetcher import Fetcher
from activitypub.vocab import PUBLIC
from fedi.domain import follows, notes, reactions
from fedi.federation.incoming import notes as incoming_notes
from fedi.federation.incoming.registry import Ignore
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.federation.remote.mentions import mentioned_actors, resolve_mentions
from fedi.federation.runtime import get_federation, signing_key_of

ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"
DAN = "http://localhost:8002/users/dan"


@pytest.fixture
async def world(two_apps):
    """alice@8001 followed by bob@8002 and carol@8001; dan@8002 follows nobody."""
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(a, "carol")
    await make_person(b, "bob")
    await make_person(b, "dan")
    async with b.state.db.session() as db:
        bob = await local(b, "bob")
        bob = await db.merge(bob)
        alice_remote = await get_or_fetch_actor(b.state, db, ALICE)
        await follows.follow(db, b.state, bob, alice_remote)
    async with a.state.db.session() as db:
        carol = await db.merge(await local(a, "carol"))
        alice = await db.merge(await local(a, "alice"))
        await follows.follow(db, a.state, carol, alice)
    await drain(a, b)
    return two_apps


async def _post(app, username: str, text: str, visibility: str = "public"):
    # As the web and C2S do: mentions are resolved first, then the one write.
    resolved = await resolve_mentions(app.state, text)
    async with app.state.db.session() as db:
        me = await db.merge(await local(app, username))
        return await notes.create_note(
            db, app.state, me, text, visibility, mentions=await mentioned_actors(db, resolved)
        )


def _creates(payloads):
    return [p["object"]["id"] for p in payloads if p.get("type") == "Create"]


async def _who_got(world, note_id: str) -> set[str]:
    a, b = world
    got = set()
    for app, name in ((a, "alice"), (a, "carol"), (b, "bob"), (b, "dan")):
        if note_id in _creates(await inbox_payloads(app, name)):
            got.add(name)
    return got


async def test_public_note_reaches_followers_only_inboxes(world):
    a, b = world
    note = await _post(a, "alice", "Hello *world*, see https://example.org/x.")
    await drain(a, b)
    assert await _who_got(world, note.ap_id) == {"bob", "carol"}
    assert note.payload["to"] == [PUBLIC]
    assert note.payload["cc"] == [f"{ALICE}/followers"]
    assert "<em>world</em>" in note.content_html
    assert 'href="https://example.org/x"' in note.content_html
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and remote.visibility == "public" and not remote.local
    assert "<em>world</em>" in remote.content_html
    # The public note is in alice's outbox and served to anyone.
    client = b.test_client()
    resp = await a.test_client().get("/users/alice/outbox?page=1", headers=AP_HEADERS)
    items = (await resp.get_json())["orderedItems"]
    assert [i["object"]["id"] for i in items if i["type"] == "Create"] == [note.ap_id]
    del client


async def test_followers_only_note(world):
    a, b = world
    note = await _post(a, "alice", "for my followers", "followers")
    await drain(a, b)
    assert await _who_got(world, note.ap_id) == {"bob", "carol"}
    assert note.payload["to"] == [f"{ALICE}/followers"]
    assert PUBLIC not in note.payload["cc"]
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and remote.visibility == "followers"
    path = note.ap_id.removeprefix("http://localhost:8001")
    # Anonymous fetch: not found; not listed in the public outbox.
    assert (await a.test_client().get(path, headers=AP_HEADERS)).status_code == 404
    resp = await a.test_client().get("/users/alice/outbox?page=1", headers=AP_HEADERS)
    assert (await resp.get_json())["orderedItems"] == []
    # A fetch signed by bob (a follower) sees it; one signed by dan does not.
    for name, allowed in (("bob", True), ("dan", False)):
        signer = signing_key_of(await local(b, name))
        fetcher = Fetcher(b.state.http, get_federation(b.state).policy, signer=signer,
                          instance_signer=None)
        if allowed:
            doc = await fetcher.fetch_json(note.ap_id)
            assert doc["content"] == note.content_html
        else:
            with pytest.raises(Exception, match="404"):
                await fetcher.fetch_json(note.ap_id)


async def test_direct_note_reaches_only_the_mentioned(world):
    a, b = world
    note = await _post(a, "alice", "psst @dan@localhost:8002", "direct")
    await drain(a, b)
    assert await _who_got(world, note.ap_id) == {"dan"}
    assert note.payload["to"] == [DAN]
    assert note.payload["cc"] == []
    assert note.payload["tag"] == [{"type": "Mention", "href": DAN, "name": "@dan@localhost:8002"}]
    assert 'class="u-url mention"' in note.content_html
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and remote.visibility == "direct"
    async with b.state.db.session() as db:
        dan = await db.merge(await local(b, "dan"))
        bob = await db.merge(await local(b, "bob"))
        assert [e.note.ap_id for e in await notes.home_timeline(db, dan)] == [note.ap_id]
        assert await notes.home_timeline(db, bob) == []


async def test_direct_note_without_mentions_is_refused(world):
    a, _b = world
    from fedi.domain.errors import ServiceError

    with pytest.raises(ServiceError):
        await _post(a, "alice", "nobody to send this to", "direct")


async def test_public_mention_of_non_follower_reaches_them(world):
    a, b = world
    note = await _post(a, "alice", "hi @dan@localhost:8002 and @carol")
    await drain(a, b)
    assert await _who_got(world, note.ap_id) == {"bob", "carol", "dan"}


async def test_update_by_author(world):
    a, b = world
    note = await _post(a, "alice", "first version")
    await drain(a, b)
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        mine = await notes.get_local_note(db, alice, note.ap_id)
        await notes.update_note(db, a.state, alice, mine, "second **version**")
    await drain(a, b)
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and "<strong>version</strong>" in remote.content_html
    assert remote.updated is not None


async def test_update_by_someone_else_is_ignored(world):
    a, b = world
    note = await _post(a, "alice", "original")
    await drain(a, b)
    # A forged Update from bob's server about alice's note changes nothing on b.
    async with b.state.db.session() as db:
        dan = await db.merge(await local(b, "dan"))
        forged = {
            "id": "http://localhost:8002/activities/forged",
            "type": "Update",
            "actor": DAN,
            "object": {**note.payload, "content": "<p>forged</p>", "attributedTo": DAN},
        }
        with pytest.raises(Ignore):
            await incoming_notes.receive_update(db, b.state, dan, forged)
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and "original" in remote.content_html


async def test_delete_leaves_tombstone(world):
    a, b = world
    note = await _post(a, "alice", "soon gone")
    await drain(a, b)
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        mine = await notes.get_local_note(db, alice, note.ap_id)
        await notes.delete_note(db, a.state, alice, mine)
    await drain(a, b)
    path = note.ap_id.removeprefix("http://localhost:8001")
    resp = await a.test_client().get(path, headers=AP_HEADERS)
    assert resp.status_code == 410
    doc = await resp.get_json()
    assert doc["type"] == "Tombstone" and doc["id"] == note.ap_id
    assert (await a.test_client().get(path, headers={"Accept": "text/html"})).status_code == 410
    remote = await stored_object(b, note.ap_id)
    assert remote is not None and remote.deleted_at is not None and remote.content_html == ""
    # Fetching it from b's side finds the Tombstone too.
    fetcher = get_federation(b.state).fetcher
    with pytest.raises(Exception) as info:
        await fetcher.fetch_json(note.ap_id)
    assert getattr(info.value, "status", None) == 410
    resp = await a.test_client().get("/users/alice/outbox", headers=AP_HEADERS)
    assert (await resp.get_json())["totalItems"] == 0


async def test_like_announce_and_undo(world):
    a, b = world
    note = await _post(a, "alice", "react to me")
    await drain(a, b)
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await reactions.like(db, b.state, bob, note.ap_id)
        await reactions.announce(db, b.state, bob, note.ap_id)
    await drain(a, b)
    for app in (a, b):
        assert await reaction_count(app, note.ap_id, "Like") == 1
        assert await reaction_count(app, note.ap_id, "Announce") == 1
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await reactions.unlike(db, b.state, bob, note.ap_id)
        await reactions.unannounce(db, b.state, bob, note.ap_id)
    await drain(a, b)
    for app in (a, b):
        assert await reaction_count(app, note.ap_id, "Like") == 0
        assert await reaction_count(app, note.ap_id, "Announce") == 0


async def test_like_of_unknown_remote_note_fetches_it(world):
    a, b = world
    # dan does not follow alice, so b has never seen the note.
    note = await _post(a, "alice", "fetch me")
    # As the web and C2S do: the note is fetched (and stored) first, then liked.
    async with b.state.db.session() as db:
        await incoming_notes.get_or_fetch_object(db, b.state, note.ap_id)
    async with b.state.db.session() as db:
        dan = await db.merge(await local(b, "dan"))
        await reactions.like(db, b.state, dan, note.ap_id)
    await drain(a, b)
    assert await reaction_count(a, note.ap_id, "Like") == 1


async def test_boost_shows_on_followers_timeline(world):
    a, b = world
    note = await _post(a, "alice", "boost me")
    await drain(a, b)
    async with b.state.db.session() as db:
        dan = await db.merge(await local(b, "dan"))
        bob = await db.merge(await local(b, "bob"))
        assert await notes.home_timeline(db, dan) == []
        await follows.follow(db, b.state, dan, bob)
    await drain(a, b)
    async with b.state.db.session() as db:
        bob = await db.merge(await local(b, "bob"))
        await reactions.announce(db, b.state, bob, note.ap_id)
    await drain(a, b)
    async with b.state.db.session() as db:
        dan = await db.merge(await local(b, "dan"))
        entries = await notes.home_timeline(db, dan)
        assert [(e.note.ap_id, e.boosts) for e in entries] == [(note.ap_id, 1)]
    assert await reaction_count(a, note.ap_id, "Announce") == 1
