"""The ids we mint dereference for those who may see them: anonymously when public, with
the owner's bearer token (their own Follow, followers-only or direct note), with a GET
signed by an addressee (the Accept b sent to alice); 401 with ``WWW-Authenticate`` without
credentials or with a bad token, 405 for other methods. Also the C2S addressing rules: a
bare note without addressing gets the default (public) audience, ``audience`` is a delivery
target."""

from __future__ import annotations

from typing import Any

import pytest
from c2s_helpers import AS, PUBLIC, act, get_json, token_of
from harness import drain
from social_helpers import inbox_ids, make_person, stored_object
from sqlalchemy import select

from activitypub.fetcher import Fetcher
from fedi.federation.runtime import get_federation, signing_key_of
from models import Actor, OutboxActivity

ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"


@pytest.fixture
async def pair(two_apps: Any) -> Any:
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(a, "carol")
    await make_person(b, "bob")
    await make_person(b, "dan")
    return two_apps


async def _local(app: Any, name: str) -> Actor:
    async with app.state.db.session() as db:
        found = await db.scalar(select(Actor).where(Actor.local.is_(True), Actor.username == name))
    assert found is not None
    return found


async def _signed_fetch(app: Any, name: str, url: str) -> Any:
    signer = signing_key_of(await _local(app, name))
    fetcher = Fetcher(app.state.http, get_federation(app.state).policy, signer=signer,
                      instance_signer=None)
    return await fetcher.fetch_json(url)


async def test_own_follow_and_notes_with_the_bearer_token(pair: Any) -> None:
    a, _b = pair
    alice, carol = await token_of(a, "alice"), await token_of(a, "carol")
    follow = await act(a, "alice", alice, {"type": "Follow", "object": BOB})
    # Not public: without credentials 401 with a challenge; the owner's token reads it.
    status, _doc, headers = await get_json(a, follow["id"])
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    status, doc, _ = await get_json(a, follow["id"], alice)
    assert status == 200 and doc["type"] == "Follow" and doc["object"] == BOB
    # Somebody else's token: not found; a bad token: 401.
    assert (await get_json(a, follow["id"], carol))[0] == 404
    status, _doc, headers = await get_json(a, follow["id"], "fpt_not-a-token")
    assert status == 401 and "invalid_token" in headers["WWW-Authenticate"]

    for addressing in ({"to": [f"{ALICE}/followers"]}, {"to": [BOB]}):
        made = await act(a, "alice", alice, {"type": "Note", "content": "psst", **addressing})
        note_id = made["object"]["id"]
        assert (await get_json(a, note_id))[0] == 404  # existence not revealed
        status, doc, _ = await get_json(a, note_id, alice)
        assert status == 200 and doc["id"] == note_id
        assert (await get_json(a, note_id, carol))[0] == 404
        status, doc, _ = await get_json(a, made["id"], alice)
        assert status == 200 and doc["object"]["id"] == note_id


async def test_an_accept_answers_the_actor_it_was_sent_to(pair: Any) -> None:
    a, b = pair
    bob = await token_of(b, "bob")
    await act(b, "bob", bob, {"type": "Follow", "object": ALICE})
    await drain(a, b)
    async with a.state.db.session() as db:
        accept = await db.scalar(select(OutboxActivity).where(OutboxActivity.type == "Accept"))
    assert accept is not None and not accept.public
    doc = await _signed_fetch(b, "bob", accept.ap_id)
    assert doc["type"] == "Accept" and doc["id"] == accept.ap_id
    with pytest.raises(Exception, match="404"):
        await _signed_fetch(b, "dan", accept.ap_id)


async def test_other_methods_are_405(pair: Any) -> None:
    a, _b = pair
    alice = await token_of(a, "alice")
    made = await act(a, "alice", alice, {"type": "Note", "content": "hallo", "to": [PUBLIC]})
    client = a.test_client()
    for url in (made["id"], made["object"]["id"]):
        path = url.removeprefix("http://localhost:8001")
        for method in ("POST", "PUT", "DELETE"):
            resp = await client.open(path, method=method,
                                     headers={"Authorization": f"Bearer {alice}"})
            assert resp.status_code == 405, (method, path)
            assert "GET" in resp.headers["Allow"]
    # Public: anyone reads it.
    status, doc, _ = await get_json(a, made["object"]["id"])
    assert status == 200 and doc["content"]
    # Actors, tribes and the parts of initiatives too (not a CSRF error).
    for path in ("/users/alice", "/tribes/plein", "/initiatives/1", "/initiatives/1/tasks/1",
                 "/initiatives/1/comments/1", "/initiatives/1/updates/1",
                 "/initiatives/1/contributions/1"):
        resp = await client.open(path, method="DELETE")
        assert resp.status_code == 405, path
        resp = await client.post(path, json={"type": "Note"})
        assert resp.status_code == 405, path


async def test_default_audience_and_audience_as_target(pair: Any) -> None:
    a, b = pair
    alice = await token_of(a, "alice")
    # A bare note without addressing: the default audience (public, cc followers).
    made = await act(a, "alice", alice, {"@context": AS, "type": "Note", "content": "Hoi"})
    assert made["type"] == "Create"
    assert PUBLIC in made["to"] and f"{ALICE}/followers" in made["cc"]
    # audience names a person: they are delivered to, like to/cc.
    made = await act(a, "alice", alice, {"type": "Note", "content": "Voor bob",
                                         "audience": BOB})
    await drain(a, b)
    assert made["id"] in await inbox_ids(b, "bob")
    assert await stored_object(b, made["object"]["id"]) is not None
