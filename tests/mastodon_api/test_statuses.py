"""Statuses through the Mastodon API: post, show, edit, delete, context, favourite, boost,
bookmark, media (issue 14). Runs on SQLite and PostgreSQL through the real app."""

from __future__ import annotations

import io
from typing import Any

import pytest
from quart.datastructures import FileStorage
from sqlalchemy import select

from fedi.http.mastodon import status_ids
from models import ApObject, OutboxActivity, Reaction
from tests.mastodon_api.oauth_helpers import bearer, oauth_token
from tests.mastodon_api.status_helpers import (
    MEDIA_FIELDS,
    PNG,
    get_json,
    person_token,
    post_status,
    status_problems,
)
from tests.tribe_helpers import make_person

pytestmark = pytest.mark.db


async def test_post_show_and_raw_fields(app: Any, client: Any) -> None:
    """A posted status has every field strict apps parse, and it federates like a web post
    (the note and its Create are stored by the notes service)."""
    alice_id, token = await person_token(app, "alice")
    status = await post_status(client, token, status="Hallo **plein**!", visibility="public")
    assert status_problems(status) == []
    assert status["account"]["id"] == str(alice_id)
    assert "<strong>plein</strong>" in status["content"]
    assert status["visibility"] == "public" and status["reblog"] is None
    assert status["in_reply_to_id"] is None and status["poll"] is None
    assert status["favourited"] is False and status["bookmarked"] is False
    assert status["pinned"] is False and status["edited_at"] is None
    key = status_ids.decode(status["id"])
    assert key is not None and key.kind == status_ids.NOTE
    async with app.state.db.session() as db:
        note = await db.get(ApObject, key.row)
        assert note is not None and note.ap_id == status["uri"]
        create = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.object_ap_id == note.ap_id, OutboxActivity.type == "Create"
            )
        )
        assert create is not None and create.public
    shown = await get_json(client, f"/api/v1/statuses/{status['id']}")
    assert shown["id"] == status["id"] and shown["favourited"] is False
    await get_json(client, "/api/v1/statuses/123", status=404)
    await get_json(client, "/api/v1/statuses/" + "9" * 24, status=404)


async def test_visibility_maps_and_private_posts_stay_hidden(app: Any, client: Any) -> None:
    """``private`` is our followers-only; strangers get 404 for it, the author sees it."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    private = await post_status(client, alice, status="Alleen volgers", visibility="private")
    assert private["visibility"] == "private"
    unlisted = await post_status(client, alice, status="Stil", visibility="unlisted")
    assert unlisted["visibility"] == "unlisted"
    await get_json(client, f"/api/v1/statuses/{private['id']}", status=404)
    await get_json(client, f"/api/v1/statuses/{private['id']}", bob, status=404)
    assert (await get_json(client, f"/api/v1/statuses/{private['id']}", alice))["id"]
    response = await client.post(
        "/api/v1/statuses", form={"status": "x", "visibility": "secret"}, headers=bearer(alice)
    )
    assert response.status_code == 422
    assert "error" in await response.get_json()


async def test_idempotency_key_posts_once(app: Any, client: Any) -> None:
    """The same ``Idempotency-Key`` answers the first status instead of posting twice."""
    _, token = await person_token(app, "alice")
    headers = {**bearer(token), "Idempotency-Key": "abc-123"}
    first = await client.post("/api/v1/statuses", form={"status": "Eén keer"}, headers=headers)
    second = await client.post("/api/v1/statuses", form={"status": "Eén keer"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert (await first.get_json())["id"] == (await second.get_json())["id"]
    third = await client.post(
        "/api/v1/statuses", form={"status": "Eén keer"},
        headers={**bearer(token), "Idempotency-Key": "other"},
    )
    assert (await third.get_json())["id"] != (await first.get_json())["id"]


async def test_reply_and_context(app: Any, client: Any) -> None:
    """A reply points at its parent; context lists ancestors and descendants in order."""
    alice_id, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    root = await post_status(client, alice, status="Wat doen we met het plein?")
    reply = await post_status(client, bob, status="Bankjes!", in_reply_to_id=root["id"])
    deeper = await post_status(client, alice, status="Goed idee", in_reply_to_id=reply["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == str(alice_id)
    # Replying to someone mentions them, as on Mastodon.
    assert [m["acct"] for m in reply["mentions"]] == ["alice"]
    context = await get_json(client, f"/api/v1/statuses/{reply['id']}/context")
    assert [s["id"] for s in context["ancestors"]] == [root["id"]]
    assert [s["id"] for s in context["descendants"]] == [deeper["id"]]
    for status in context["ancestors"] + context["descendants"]:
        assert status_problems(status) == []
    root_now = await get_json(client, f"/api/v1/statuses/{root['id']}")
    assert root_now["replies_count"] == 1


async def _act(client: Any, sid: str, action: str, token: str) -> Any:
    response = await client.post(f"/api/v1/statuses/{sid}/{action}", headers=bearer(token))
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def test_favourite_reblog_bookmark(app: Any, client: Any) -> None:
    """Favourite, boost and bookmark and their undo, with counts and viewer flags; the
    like and the boost are the same Reaction rows the web buttons make."""
    _, alice = await person_token(app, "alice")
    bob_id, bob = await person_token(app, "bob")
    status = await post_status(client, alice, status="Kom zaterdag helpen")
    sid = status["id"]
    liked = await _act(client, sid, "favourite", bob)
    assert liked["favourited"] is True and liked["favourites_count"] == 1
    boosted = await _act(client, sid, "reblog", bob)
    assert status_problems(boosted) == []
    assert boosted["reblog"]["id"] == sid and boosted["account"]["id"] == str(bob_id)
    assert boosted["reblog"]["reblogged"] is True and boosted["reblog"]["reblogs_count"] == 1
    assert status_ids.decode(boosted["id"]).kind == status_ids.REBLOG  # type: ignore[union-attr]
    async with app.state.db.session() as db:
        kinds = sorted((await db.scalars(select(Reaction.kind))).all())
    assert kinds == ["Announce", "Like"]
    by = await get_json(client, f"/api/v1/statuses/{sid}/favourited_by")
    assert [a["id"] for a in by] == [str(bob_id)]
    by = await get_json(client, f"/api/v1/statuses/{sid}/reblogged_by")
    assert [a["id"] for a in by] == [str(bob_id)]
    # The boost is a status of its own, shown with its id.
    shown = await get_json(client, f"/api/v1/statuses/{boosted['id']}", bob)
    assert shown["reblog"]["id"] == sid
    marked = await _act(client, sid, "bookmark", bob)
    assert marked["bookmarked"] is True
    assert [s["id"] for s in await get_json(client, "/api/v1/bookmarks", bob)] == [sid]
    assert [s["id"] for s in await get_json(client, "/api/v1/favourites", bob)] == [sid]
    assert await get_json(client, "/api/v1/bookmarks", alice) == []
    for action, flag in (("unfavourite", "favourited"), ("unreblog", "reblogged"),
                         ("unbookmark", "bookmarked")):
        undone = await client.post(f"/api/v1/statuses/{sid}/{action}", headers=bearer(bob))
        assert undone.status_code == 200
        assert (await undone.get_json())[flag] is False
    assert await get_json(client, "/api/v1/bookmarks", bob) == []
    async with app.state.db.session() as db:
        assert (await db.scalars(select(Reaction))).all() == []


async def test_edit_source_history_and_delete(app: Any, client: Any) -> None:
    """Edit through the notes service (an Update), read the source, delete (a Tombstone)
    with ``text`` for redrafting; others may not touch it."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    status = await post_status(client, alice, status="Eerste versie")
    sid = status["id"]
    edited = await client.put(
        f"/api/v1/statuses/{sid}", form={"status": "Tweede versie", "spoiler_text": "let op"},
        headers=bearer(alice),
    )
    assert edited.status_code == 200
    body = await edited.get_json()
    assert "Tweede versie" in body["content"] and body["spoiler_text"] == "let op"
    assert body["sensitive"] is True and body["edited_at"] is not None
    source = await get_json(client, f"/api/v1/statuses/{sid}/source", alice)
    assert source == {"id": sid, "text": "Tweede versie", "spoiler_text": "let op"}
    history = await get_json(client, f"/api/v1/statuses/{sid}/history")
    assert len(history) == 1 and "Tweede versie" in history[0]["content"]
    refused = await client.delete(f"/api/v1/statuses/{sid}", headers=bearer(bob))
    assert refused.status_code == 403
    gone = await client.delete(f"/api/v1/statuses/{sid}", headers=bearer(alice))
    assert gone.status_code == 200
    assert (await gone.get_json())["text"] == "Tweede versie"
    await get_json(client, f"/api/v1/statuses/{sid}", status=404)
    async with app.state.db.session() as db:
        key = status_ids.decode(sid)
        assert key is not None
        note = await db.get(ApObject, key.row)
        assert note is not None and note.deleted_at is not None
        assert note.payload["type"] == "Tombstone"


async def test_media_upload_and_post(app: Any, client: Any) -> None:
    """Upload an image (v2), describe it, post it: the note carries it as an attachment
    (so it federates) and the status shows it; others cannot use the upload."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")


    upload = await client.post(
        "/api/v2/media", headers=bearer(alice),
        files={"file": FileStorage(
            io.BytesIO(PNG), filename="plein.png", content_type="image/png"
        )},
        form={"description": "Het plein", "focus": "0.5,-0.5"},
    )
    assert upload.status_code == 200, await upload.get_data(as_text=True)
    media = await upload.get_json()
    assert not [n for n in MEDIA_FIELDS if n not in media]
    assert media["type"] == "image" and media["description"] == "Het plein"
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.5}
    assert media["meta"]["original"]["width"] == 40
    assert media["meta"]["original"]["height"] == 30
    assert (await client.get(media["url"].split("localhost:8000")[1])).status_code == 200
    changed = await client.put(
        f"/api/v1/media/{media['id']}", form={"description": "Het plein in de zon"},
        headers=bearer(alice),
    )
    assert (await changed.get_json())["description"] == "Het plein in de zon"
    await get_json(client, f"/api/v1/media/{media['id']}", bob, status=404)
    stolen = await client.post(
        "/api/v1/statuses", form={"status": "mijn foto", "media_ids[]": media["id"]},
        headers=bearer(bob),
    )
    assert stolen.status_code == 422
    status = await post_status(client, alice, **{"status": "Kijk", "media_ids[]": media["id"]})
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]
    assert status["media_attachments"][0]["description"] == "Het plein in de zon"
    async with app.state.db.session() as db:
        note = await db.scalar(select(ApObject).where(ApObject.ap_id == status["uri"]))
        assert note is not None
        assert note.payload["attachment"][0]["url"] == media["url"]
        assert note.payload["attachment"][0]["name"] == "Het plein in de zon"
    # A photo without words is a post too (as on Mastodon); without either it is not.
    second = await (await client.post(
        "/api/v2/media", headers=bearer(alice),
        files={"file": FileStorage(io.BytesIO(PNG), filename="b.png")},
    )).get_json()
    photo_only = await post_status(client, alice, **{"status": "", "media_ids[]": second["id"]})
    assert photo_only["content"] == "" and len(photo_only["media_attachments"]) == 1
    empty = await client.post("/api/v1/statuses", form={"status": ""}, headers=bearer(alice))
    assert empty.status_code == 422
    not_image = await client.post(
        "/api/v2/media", headers=bearer(alice),
        files={"file": FileStorage(io.BytesIO(b"<svg></svg>"), filename="x.svg")},
    )
    assert not_image.status_code == 422


async def test_oauth_scopes_apply(app: Any, client: Any) -> None:
    """An OAuth token with only ``read`` may read but not post."""
    await make_person(app, "carol")
    token = await oauth_token(client, "carol", scope="read")
    assert (await get_json(client, "/api/v1/timelines/home", token)) == []
    refused = await client.post("/api/v1/statuses", form={"status": "hoi"}, headers=bearer(token))
    assert refused.status_code == 403
    anonymous = await client.post("/api/v1/statuses", form={"status": "hoi"})
    assert anonymous.status_code == 401
