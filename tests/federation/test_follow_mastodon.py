"""A Mastodon-shaped remote account follows a local person, gets her posts, reacts, leaves.

The remote server is a small fake on the routing transport (``localhost:9001``) with a real
key pair: its actor document and its activities have Mastodon's shapes, and it records
what our instance delivers to it.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fakes import FakeActor, FakeServer
from harness import drain
from social_helpers import follow_rows, inbox_ids, local, make_person, reaction_count, stored_object

from activitypub.vocab import PUBLIC
from fedi.domain import notes

ALICE = "http://localhost:8001/users/alice"


class RecordingServer(FakeServer):
    """A fake server that also keeps the JSON bodies POSTed to it."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.posts: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.posts.append((scope["path"], orjson.loads(body)))
        await super().__call__(scope, receive, send)

    def received(self, kind: str) -> list[dict[str, Any]]:
        return [doc for _path, doc in self.posts if doc.get("type") == kind]


@pytest.fixture
async def mastodon(two_apps):
    server = RecordingServer("localhost:9001")
    two_apps.router.add("localhost:9001", server)
    fiona = FakeActor(server, "/users/fiona")
    await make_person(two_apps.a, "alice")
    return server, fiona


async def _deliver(app, actor: FakeActor, activity: dict[str, Any], path: str = "/inbox") -> int:
    body = orjson.dumps(activity)
    headers = actor.signed_post(f"http://localhost:8001{path}", body)
    resp = await app.test_client().post(path, data=body, headers=headers)
    return resp.status_code


async def test_mastodon_follows_gets_posts_and_unfollows(two_apps, mastodon):
    a, _b = two_apps
    server, fiona = mastodon
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:9001/1ea87517-63c5-4118-8831-460ee641b2cf",
        "type": "Follow",
        "actor": fiona.id,
        "object": ALICE,
    }
    assert await _deliver(a, fiona, follow, "/users/alice/inbox") == 202
    await drain(a)
    assert await follow_rows(a) == [(fiona.id, ALICE, True)]
    (accept,) = server.received("Accept")
    assert accept["actor"] == ALICE
    assert accept["object"] == {k: v for k, v in follow.items() if k != "@context"}
    assert accept["id"].startswith("http://localhost:8001/")
    # Mastodon delivers to the shared inbox when the actor advertises one.
    assert server.posts[-1][0] == "/inbox"

    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        public = await notes.create_note(db, a.state, alice, "for everyone")
        private = await notes.create_note(db, a.state, alice, "for followers", "followers")
    await drain(a)
    creates = server.received("Create")
    assert [c["object"]["id"] for c in creates] == [public.ap_id, private.ap_id]
    for create in creates:
        # Mastodon reads addressing from the object; it must mirror the activity's.
        assert create["to"] == create["object"]["to"]
        assert create["cc"] == create["object"]["cc"]
        assert create["object"]["attributedTo"] == ALICE
        assert create["@context"]
    assert creates[0]["to"] == [PUBLIC]
    assert creates[1]["to"] == [f"{ALICE}/followers"]

    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://localhost:9001/users/fiona#follows/449/undo",
        "type": "Undo",
        "actor": fiona.id,
        "object": {k: v for k, v in follow.items() if k != "@context"},
    }
    assert await _deliver(a, fiona, undo) == 202
    await drain(a)
    assert await follow_rows(a) == []
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        await notes.create_note(db, a.state, alice, "nobody hears this")
    await drain(a)
    assert len(server.received("Create")) == 2


async def test_mastodon_reply_like_and_account_delete(two_apps, mastodon):
    a, _b = two_apps
    _server, fiona = mastodon
    follow = fiona.activity("Follow", ALICE)
    assert await _deliver(a, fiona, follow) == 202
    async with a.state.db.session() as db:
        alice = await db.merge(await local(a, "alice"))
        note = await notes.create_note(db, a.state, alice, "what do you think?")
    await drain(a)

    reply_id = "http://localhost:9001/users/fiona/statuses/107224289116410645"
    reply = {
        "id": reply_id,
        "type": "Note",
        "summary": None,
        "inReplyTo": note.ap_id,
        "published": "2021-11-05T11:46:50Z",
        "url": "http://localhost:9001/@fiona/107224289116410645",
        "attributedTo": fiona.id,
        "to": [fiona.id + "/followers"],
        "cc": [PUBLIC, ALICE],
        "sensitive": False,
        "content": '<p><span class="h-card"><a href="http://localhost:8001/@alice" '
        'class="u-url mention">@<span>alice</span></a></span> nice'
        '<script>alert(1)</script><img src="x" onerror="alert(2)"></p>',
        "tag": [{"type": "Mention", "href": ALICE, "name": "@alice@localhost:8001"}],
    }
    create = fiona.activity("Create", reply, to=reply["to"], cc=reply["cc"],
                            published=reply["published"])
    create["id"] = reply_id + "/activity"
    assert await _deliver(a, fiona, create) == 202
    # The same activity again (a redelivery) is a no-op.
    assert await _deliver(a, fiona, create) == 202
    like = fiona.activity("Like", note.ap_id)
    assert await _deliver(a, fiona, like) == 202
    await drain(a)
    stored = await stored_object(a, reply_id)
    assert stored is not None
    assert stored.visibility == "unlisted" and stored.in_reply_to == note.ap_id
    assert "script" not in stored.content_html and "onerror" not in stored.content_html
    assert 'class="u-url mention"' in stored.content_html
    assert create["id"] in await inbox_ids(a, "alice")
    assert await reaction_count(a, note.ap_id, "Like") == 1

    # A Create of somebody else's note (forged attribution) is not stored.
    forged = dict(reply, id="http://localhost:9001/users/fiona/statuses/2",
                  attributedTo="http://localhost:8001/users/alice")
    assert await _deliver(a, fiona, fiona.activity("Create", forged, to=[PUBLIC])) == 202
    await drain(a)
    assert await stored_object(a, forged["id"]) is None

    # Fiona edits, then deletes her reply; then her account goes away.
    edited = dict(reply, content="<p>changed my mind</p>", updated="2021-11-06T10:00:00Z")
    assert await _deliver(a, fiona, fiona.activity("Update", edited, to=[PUBLIC])) == 202
    await drain(a)
    assert "changed my mind" in (await stored_object(a, reply_id)).content_html
    delete = fiona.activity("Delete", {"id": reply_id, "type": "Tombstone"}, to=[PUBLIC])
    assert await _deliver(a, fiona, delete) == 202
    await drain(a)
    assert (await stored_object(a, reply_id)).deleted_at is not None
    assert await follow_rows(a) == [(fiona.id, ALICE, True)]
    gone = fiona.activity("Delete", fiona.id, to=[PUBLIC])
    assert await _deliver(a, fiona, gone) == 202
    await drain(a)
    assert await follow_rows(a) == []
    assert await reaction_count(a, note.ap_id, "Like") == 0
