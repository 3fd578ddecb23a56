"""Spoofing and replay at the inbox: nobody speaks for somebody else, nothing counts twice.

All through the real door of one instance, with real RSA signatures made the way Mastodon
makes them (``FakeActor.signed_post``) or deliberately made wrong:

- a signature by another actor, or by a key that is not the actor's: 401;
- a Date older or newer than the window (a replayed old request): 401;
- a body that does not match its signed Digest, or a signature that does not cover the
  digest: 401;
- an activity whose id is on another host than its actor: 403;
- the same signed request sent twice: stored and applied once;
- an embedded object of another server with forged content: what is stored is what its
  origin serves, never the forged copy; a note that claims a local author is not stored.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from attack_helpers import PUBLIC, FakeActor, World, counts, drain, post_inbox, remote, world
from sqlalchemy import func, select

from activitypub.digest import digest_header
from activitypub.http_signatures import request_target
from activitypub.keys import generate_rsa_keypair, load_private_key
from activitypub.sigbase import sign_raw
from models import ApObject, InboxItem

INBOX = "/users/alice/inbox"
URL = f"http://localhost:8001{INBOX}"
ALICE = "http://localhost:8001/users/alice"


@pytest.fixture
async def spoof(tmp_path: Path) -> AsyncIterator[World]:
    """The attack world, plus mallory on fiona's server."""
    async with world(tmp_path) as made:
        made.mallory = FakeActor(made.server, "/users/mallory")  # type: ignore[attr-defined]
        yield made


async def _send(w: World, body: bytes, headers: dict[str, str]) -> int:
    response = await w.app.test_client().post(INBOX, data=body, headers=headers)
    return response.status_code


def _cavage(
    actor: FakeActor, body: bytes, covered: list[str], *, when: datetime | None = None
) -> dict[str, str]:
    """Headers signed over exactly ``covered`` (to leave the digest out, say)."""
    headers = {
        "Content-Type": "application/activity+json",
        "Date": format_datetime(when or datetime.now(UTC), usegmt=True),
        "Host": "localhost:8001",
        "Digest": digest_header(body),
    }
    values = {k.lower(): v for k, v in headers.items()}
    values["(request-target)"] = request_target("POST", URL)
    text = "\n".join(f"{name}: {values[name]}" for name in covered)
    signature = sign_raw(load_private_key(actor.private_pem), "rsa-v1_5-sha256", text.encode())
    headers["Signature"] = (
        f'keyId="{actor.key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


def _create(w: World, text: str = "hello") -> dict[str, Any]:
    return w.fiona.activity("Create", w.note(text), to=[PUBLIC], cc=[ALICE])


async def _stored_items(w: World) -> int:
    return (await counts(w))["inbox_items"]


async def test_signature_of_another_actor_is_refused(spoof: World) -> None:
    mallory: FakeActor = spoof.mallory  # type: ignore[attr-defined]
    body = orjson.dumps(_create(spoof))
    assert await _send(spoof, body, mallory.signed_post(URL, body)) == 401
    # fiona's keyId, but signed with a key that is not hers.
    other_key, _ = generate_rsa_keypair()
    assert await _send(spoof, body, spoof.fiona.signed_post(URL, body, key_pem=other_key)) == 401
    # Unsigned.
    assert await _send(spoof, body, {"Content-Type": "application/activity+json"}) == 401
    assert await _stored_items(spoof) == 0


@pytest.mark.parametrize("skew", [timedelta(hours=-2), timedelta(hours=2), timedelta(days=-30)])
async def test_replayed_old_or_future_date_is_refused(spoof: World, skew: timedelta) -> None:
    body = orjson.dumps(_create(spoof))
    headers = spoof.fiona.signed_post(URL, body, now=datetime.now(UTC) + skew)
    assert await _send(spoof, body, headers) == 401
    assert await _stored_items(spoof) == 0


async def test_digest_mismatch_and_uncovered_digest_are_refused(spoof: World) -> None:
    body = orjson.dumps(_create(spoof, "what was signed"))
    headers = spoof.fiona.signed_post(URL, body)
    tampered = body.replace(b"what was signed", b"what was swapped")
    assert await _send(spoof, tampered, headers) == 401
    # The Digest header swapped along with the body, but the signature still covers the old.
    headers = {**headers, "Digest": digest_header(tampered)}
    assert await _send(spoof, tampered, headers) == 401
    # A signature that leaves the digest out proves nothing about the body.
    bare = _cavage(spoof.fiona, tampered, ["(request-target)", "host", "date"])
    assert await _send(spoof, tampered, bare) == 401
    # Control: the same construction covering the digest is accepted.
    good = _cavage(spoof.fiona, body, ["(request-target)", "host", "date", "digest"])
    assert await _send(spoof, body, good) == 202


async def test_activity_id_on_another_host_is_refused(spoof: World) -> None:
    activity = _create(spoof)
    activity["id"] = f"http://localhost:9002/activities/{uuid.uuid4()}"
    assert await post_inbox(spoof, orjson.dumps(activity)) == 403
    assert await _stored_items(spoof) == 0


async def test_the_same_request_twice_counts_once(spoof: World) -> None:
    activity = _create(spoof, "only once")
    body = orjson.dumps(activity)
    headers = spoof.fiona.signed_post(URL, body)
    first = await _send(spoof, body, headers)
    await drain(spoof.app)
    second = await _send(spoof, body, headers)
    await drain(spoof.app)
    assert first == 202 and second in (202, 401)
    async with spoof.app.state.db.session() as db:
        items = await db.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.ap_id == activity["id"])
        )
        notes = await db.scalar(
            select(func.count()).select_from(ApObject)
            .where(ApObject.ap_id == activity["object"]["id"])
        )
    assert (items, notes) == (1, 1)


async def test_embedded_object_of_another_server_is_fetched_from_its_origin(
    spoof: World,
) -> None:
    other, bob = remote(spoof.router, "localhost:9002", "bob")
    note_id = other.url(f"/notes/{uuid.uuid4()}")
    other.docs[note_id.removeprefix("http://localhost:9002")] = {
        "@context": "https://www.w3.org/ns/activitystreams", "id": note_id, "type": "Note",
        "attributedTo": bob.id, "content": "<p>genuine words</p>", "to": [PUBLIC],
    }
    forged = {
        "id": note_id, "type": "Note", "attributedTo": bob.id,
        "content": "<p>forged words</p>", "to": [PUBLIC], "cc": [ALICE],
    }
    for kind in ("Create", "Announce"):
        activity = spoof.fiona.activity(kind, forged, to=[PUBLIC], cc=[ALICE])
        assert await post_inbox(spoof, orjson.dumps(activity)) in (202, 400, 403)
        await drain(spoof.app)
    async with spoof.app.state.db.session() as db:
        contents = list(await db.scalars(select(ApObject.content_html)))
        payloads = list(await db.scalars(select(ApObject.payload)))
    assert not any("forged" in c for c in contents), contents
    assert not any("forged" in orjson.dumps(p).decode() for p in payloads)


async def test_note_claiming_a_local_author_is_not_stored(spoof: World) -> None:
    note = spoof.note("I am alice", attributedTo=ALICE)
    activity = spoof.fiona.activity("Create", note, to=[PUBLIC], cc=[ALICE])
    status = await post_inbox(spoof, orjson.dumps(activity))
    await drain(spoof.app)
    assert status in (202, 400, 403)
    async with spoof.app.state.db.session() as db:
        stored = await db.scalar(select(ApObject).where(ApObject.ap_id == note["id"]))
        item = await db.scalar(select(InboxItem).where(InboxItem.ap_id == activity["id"]))
    assert stored is None
    if item is not None:
        assert item.state == "ignored" and item.error, (item.state, item.error)
