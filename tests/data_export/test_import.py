"""Importing a Mastodon follow list: every row followed through the follow service.

Alice on localhost:8001 uploads a ``following_accounts.csv`` naming bob on localhost:8002
(twice), somebody who does not exist there, a handle on a host nobody runs, carol on her
own server (followed at once) and an invitation-only tribe (refused by its join rules).
A server that never answers cannot hold the import past its deadline. Bob is
followed through the same service as the follow button, the ``Follow`` reaches his
server and comes back accepted; the page lists the outcome of every row; a second import
changes nothing.
"""

from __future__ import annotations

import asyncio
import time

from harness import drain
from profile_helpers import multipart
from social_helpers import follow_rows
from social_helpers import make_person as make_remote_person
from sqlalchemy import select
from tribe_helpers import actor_named, csrf_of, login, make_tribe
from tribe_helpers import make_person as make_web_person

from fedi.federation.remote import follow_import
from fedi.state import FediApp
from models import OutboxActivity

CSV = (
    "Account address,Show boosts,Notify on new posts,Languages\n"
    "bob@localhost:8002,true,false,\n"
    "nobody@localhost:8002,true,false,\n"
    "@Bob@localhost:8002,true,false,nl\n"
    "ghost@nowhere.invalid,true,false,\n"
    "carol@localhost:8001,true,false,\n"
    "besloten@localhost:8001,true,false,\n"
)
ALICE = "http://localhost:8001/users/alice"
BOB = "http://localhost:8002/users/bob"
CAROL = "http://localhost:8001/users/carol"


async def _import(app: FediApp, client, data: bytes) -> str:
    token = await csrf_of(client, "/settings/import")
    body, headers = multipart(
        [("csrf_token", token)], [("file", "following_accounts.csv", "text/csv", data)]
    )
    response = await client.post("/settings/import", data=body, headers=headers)
    html = await response.get_data(as_text=True)
    assert response.status_code == 200, html
    return html


def _row(html: str, outcome: str, handle: str) -> bool:
    return f'<tr class="import-{outcome}"><td>{handle}</td>' in html


async def test_import_follows_through_the_service(two_apps) -> None:
    a, b = two_apps
    await make_web_person(a, "alice")
    await make_remote_person(b, "bob")
    await make_web_person(a, "carol")
    await make_tribe(a, "besloten", "carol", join_mode="invite")
    client = a.test_client()
    await login(client, "alice")

    html = await _import(a, client, CSV.encode())
    assert _row(html, "requested", "bob@localhost:8002")
    assert _row(html, "not_found", "nobody@localhost:8002")
    assert _row(html, "duplicate", "Bob@localhost:8002")
    assert _row(html, "not_found", "ghost@nowhere.invalid")
    assert _row(html, "followed", "carol@localhost:8001")
    assert _row(html, "refused", "besloten@localhost:8001")
    assert "This tribe is open by invitation only." in html or "uitnodiging" in html
    async with a.state.db.session() as db:
        sent = (await db.scalars(
            select(OutboxActivity).where(OutboxActivity.type == "Follow")
        )).all()
    # The refused follow left nothing behind (its transaction was rolled back).
    assert sorted(row.payload["object"] for row in sent) == [CAROL, BOB]

    await drain(a, b)
    assert (ALICE, BOB, True) in await follow_rows(a)
    assert (ALICE, BOB, True) in await follow_rows(b)

    again = await _import(a, client, b"bob@localhost:8002\n")
    assert _row(again, "already", "bob@localhost:8002")
    async with a.state.db.session() as db:
        follows_sent = (await db.scalars(
            select(OutboxActivity.id).where(OutboxActivity.type == "Follow")
        )).all()
    assert len(follows_sent) == 2


async def test_an_empty_upload_is_refused(two_apps) -> None:
    a, _b = two_apps
    await make_web_person(a, "alice")
    client = a.test_client()
    await login(client, "alice")
    token = await csrf_of(client, "/settings/import")
    body, headers = multipart([("csrf_token", token)], [("file", "x.csv", "text/csv", b"")])
    response = await client.post("/settings/import", data=body, headers=headers)
    assert response.status_code == 400


async def _never_answers(scope, receive, send) -> None:
    """An ASGI server that keeps every request waiting (a peer that hangs)."""
    await asyncio.sleep(30)


async def test_a_hanging_server_cannot_hold_the_import_past_its_deadline(two_apps) -> None:
    a, _b = two_apps
    two_apps.router.add("localhost:8009", _never_answers)
    await make_web_person(a, "alice")
    async with a.state.db.session() as db:
        alice_id = (await actor_named(db, "alice")).id
    handles = [f"p{n}@localhost:8009" for n in range(follow_import.CONCURRENCY + 2)]
    started = time.monotonic()
    results = await follow_import.import_follows(a.state, alice_id, handles, deadline=0.5)
    assert time.monotonic() - started < 5
    assert [r.outcome for r in results] == [follow_import.TIMED_OUT] * len(handles)
