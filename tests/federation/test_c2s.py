"""The C2S outbox: authentication, input checks, and each supported activity end to end."""

from __future__ import annotations

import pytest
from harness import drain
from social_helpers import (
    AP_HEADERS,
    follow_rows,
    inbox_payloads,
    make_person,
    post_outbox,
    reaction_count,
    stored_object,
    token_for,
)

from activitypub.vocab import PUBLIC

ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"


@pytest.fixture
async def pair(two_apps):
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(a, "carol")
    await make_person(b, "bob")
    return two_apps


async def test_requires_a_valid_token_of_the_owner(pair):
    a, _b = pair
    body = {"type": "Follow", "object": BOB}
    resp = await post_outbox(a, "alice", None, body)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await post_outbox(a, "alice", "fpt_not-a-real-token", body)
    assert resp.status_code == 401
    carol_token = await token_for(a, "carol")
    resp = await post_outbox(a, "alice", carol_token, body)
    assert resp.status_code == 403
    resp = await post_outbox(a, "nobody", carol_token, body)
    assert resp.status_code == 403
    assert await follow_rows(a) == []


async def test_bad_bodies(pair):
    a, _b = pair
    token = await token_for(a, "alice")
    cases = [
        (b"{not json", "application/activity+json", 400),
        (b"[1, 2]", "application/activity+json", 400),
        (b'{"type": "Follow", "object": "x"}', "text/plain", 415),
        (b'{"type": "Flag", "object": "x"}', "application/activity+json", 400),
        (b'{"type": "Create", "object": {"type": "Video"}}', "application/ld+json", 400),
        (b'{"type": "Note"}', "application/json", 400),
        (b'{"type": "Note", "content": "  "}', "application/json", 400),
        (b'{"type": "Follow"}', "application/activity+json", 400),
        (b'{"type": "Undo", "object": "http://localhost:8001/activities/nope"}',
         "application/activity+json", 404),
        (b'{"type": "Delete", "object": "http://localhost:8001/users/alice/notes/nope"}',
         "application/activity+json", 404),
    ]
    for data, content_type, status in cases:
        resp = await post_outbox(a, "alice", token, data, content_type=content_type)
        assert resp.status_code == status, (data, await resp.get_data())
        assert "error" in await resp.get_json()
    big = b'{"type": "Note", "content": "' + b"x" * (a.state.settings.max_body_bytes + 10) + b'"}'
    resp = await post_outbox(a, "alice", token, big)
    assert resp.status_code == 413


async def test_follow_by_url_and_by_handle_then_undo(pair):
    a, b = pair
    token = await token_for(a, "alice")
    resp = await post_outbox(a, "alice", token, {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://evil.example/activities/client-chosen",
        "type": "Follow", "actor": ALICE, "object": "@bob@localhost:8002",
    })
    assert resp.status_code == 201, await resp.get_data()
    doc = await resp.get_json()
    assert doc["type"] == "Follow" and doc["object"] == BOB and doc["actor"] == ALICE
    assert doc["id"] != "http://evil.example/activities/client-chosen"
    assert resp.headers["Location"] == doc["id"]
    assert doc["id"].startswith("http://localhost:8001/")
    await drain(a, b)
    assert await follow_rows(b) == [(ALICE, BOB, True)]
    # Undo by the Follow's id.
    resp = await post_outbox(a, "alice", token, {"type": "Undo", "object": doc["id"]})
    assert resp.status_code == 201
    undo = await resp.get_json()
    assert undo["type"] == "Undo" and undo["object"]["id"] == doc["id"]
    await drain(a, b)
    assert await follow_rows(a) == [] and await follow_rows(b) == []
    # Follow again by URL and by acct: handle (idempotent), undo with an embedded Follow.
    for target in (BOB, "acct:bob@localhost:8002"):
        resp = await post_outbox(a, "alice", token, {"type": "Follow", "object": target})
        assert resp.status_code == 201
    await drain(a, b)
    assert await follow_rows(b) == [(ALICE, BOB, True)]
    resp = await post_outbox(a, "alice", token, {
        "type": "Undo", "object": {"type": "Follow", "object": BOB},
    })
    assert resp.status_code == 201
    await drain(a, b)
    assert await follow_rows(b) == []


async def test_follow_of_unknown_actor_is_404(pair):
    a, _b = pair
    token = await token_for(a, "alice")
    resp = await post_outbox(
        a, "alice", token, {"type": "Follow", "object": "nobody@localhost:8002"}
    )
    assert resp.status_code == 404


async def test_bare_note_is_wrapped_and_delivered(pair):
    a, b = pair
    token_b = await token_for(b, "bob")
    resp = await post_outbox(b, "bob", token_b, {"type": "Follow", "object": ALICE})
    assert resp.status_code == 201
    await drain(a, b)
    token = await token_for(a, "alice")
    resp = await post_outbox(a, "alice", token, {
        "type": "Note", "id": "http://localhost:8001/users/alice/notes/mine",
        "content": "Hello <b>fediverse</b><script>alert(1)</script>",
        "to": [PUBLIC], "cc": [f"{ALICE}/followers"],
    })
    assert resp.status_code == 201, await resp.get_data()
    create = await resp.get_json()
    assert create["type"] == "Create"
    note = create["object"]
    assert note["id"] != "http://localhost:8001/users/alice/notes/mine"
    assert "script" not in note["content"] and "<b>fediverse</b>" in note["content"]
    assert create["to"] == note["to"] == [PUBLIC]
    await drain(a, b)
    assert create["id"] in [p["id"] for p in await inbox_payloads(b, "bob")]
    remote = await stored_object(b, note["id"])
    assert remote is not None and remote.visibility == "public"
    # The activity and the note are served by their ids.
    client = a.test_client()
    path = create["id"].removeprefix("http://localhost:8001")
    assert (await client.get(path, headers=AP_HEADERS)).status_code == 200
    # Update and Delete through the outbox.
    resp = await post_outbox(a, "alice", token, {
        "type": "Update",
        "object": {"type": "Note", "id": note["id"], "source": {"content": "edited *now*"}},
    })
    assert resp.status_code == 201
    await drain(a, b)
    assert "<em>now</em>" in (await stored_object(b, note["id"])).content_html
    resp = await post_outbox(a, "alice", token, {"type": "Delete", "object": note["id"]})
    assert resp.status_code == 201
    await drain(a, b)
    assert (await stored_object(b, note["id"])).deleted_at is not None
    note_path = note["id"].removeprefix("http://localhost:8001")
    assert (await client.get(note_path, headers=AP_HEADERS)).status_code == 410
    assert (await client.get(path, headers=AP_HEADERS)).status_code == 410


async def test_someone_elses_note_cannot_be_deleted(pair):
    a, b = pair
    token_b = await token_for(b, "bob")
    resp = await post_outbox(
        b, "bob", token_b, {"type": "Note", "content": "bob's", "to": [PUBLIC]}
    )
    note_id = (await resp.get_json())["object"]["id"]
    # carol on a tries to delete a note id she does not own (it is not even on a).
    token_c = await token_for(a, "carol")
    resp = await post_outbox(a, "carol", token_c, {"type": "Delete", "object": note_id})
    assert resp.status_code == 404


async def test_followers_only_and_direct_addressing(pair):
    a, b = pair
    token = await token_for(a, "alice")
    resp = await post_outbox(a, "alice", token, {
        "type": "Create",
        "object": {"type": "Note", "content": "just followers", "to": [f"{ALICE}/followers"]},
    })
    assert resp.status_code == 201
    assert (await resp.get_json())["object"]["to"] == [f"{ALICE}/followers"]
    resp = await post_outbox(a, "alice", token, {
        "type": "Create", "to": [BOB],
        "object": {"type": "Note", "content": "just bob"},
    })
    assert resp.status_code == 201
    create = await resp.get_json()
    assert create["to"] == [BOB] and create["cc"] == []
    assert create["object"]["tag"][0]["href"] == BOB
    await drain(a, b)
    assert create["id"] in [p["id"] for p in await inbox_payloads(b, "bob")]
    assert (await stored_object(b, create["object"]["id"])).visibility == "direct"


async def test_like_announce_and_undo_by_outbox(pair):
    a, b = pair
    token_b = await token_for(b, "bob")
    resp = await post_outbox(
        b, "bob", token_b, {"type": "Note", "content": "like me", "to": [PUBLIC]}
    )
    note_id = (await resp.get_json())["object"]["id"]
    token = await token_for(a, "alice")
    like = await post_outbox(a, "alice", token, {"type": "Like", "object": note_id})
    assert like.status_code == 201, await like.get_data()
    boost = await post_outbox(a, "alice", token, {"type": "Announce", "object": note_id})
    assert boost.status_code == 201
    await drain(a, b)
    assert await reaction_count(b, note_id, "Like") == 1
    assert await reaction_count(b, note_id, "Announce") == 1
    for resp in (like, boost):
        undo = await post_outbox(a, "alice", token, {
            "type": "Undo", "object": (await resp.get_json())["id"],
        })
        assert undo.status_code == 201
    await drain(a, b)
    assert await reaction_count(b, note_id, "Like") == 0
    assert await reaction_count(b, note_id, "Announce") == 0


async def test_accept_and_reject_requests_by_outbox(two_apps):
    a, b = two_apps
    await make_person(a, "alice", locked=True)
    await make_person(b, "bob")
    await make_person(b, "dan")
    for name in ("bob", "dan"):
        token = await token_for(b, name)
        resp = await post_outbox(b, name, token, {"type": "Follow", "object": ALICE})
        assert resp.status_code == 201
    await drain(a, b)
    token = await token_for(a, "alice")
    # Accept names the follower; Reject embeds the Follow as received.
    resp = await post_outbox(a, "alice", token, {"type": "Accept", "object": BOB})
    assert resp.status_code == 201, await resp.get_data()
    resp = await post_outbox(a, "alice", token, {
        "type": "Reject",
        "object": {"type": "Follow", "actor": "http://localhost:8002/users/dan", "object": ALICE},
    })
    assert resp.status_code == 201, await resp.get_data()
    await drain(a, b)
    assert await follow_rows(b) == [(BOB, ALICE, True)]
    assert await follow_rows(a) == [(BOB, ALICE, True)]
