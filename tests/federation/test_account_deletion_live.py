"""Account deletion between two real ``fedi serve`` processes over HTTP (issue 12).

bob on instance B follows alice on instance A and has her public note; alice is a member
of bob's tribe ``buurt`` on B. alice deletes her account in A's account page (a wrong
password first: refused). Her ``Delete{Person}`` reaches B: bob's timeline no longer shows
her note (B keeps only a Tombstone of it), and she is in no collection or member list on B
any more. A answers 410 Gone with a Tombstone for her actor id.
"""

from __future__ import annotations

import sqlite3
from functools import partial

import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    PASSWORD,
    PUBLIC,
    alice_and_bob,
    collection_items,
    csrf_of,
    inbox_items,
    outbox_post,
    wait_for,
    web_login,
)

pytestmark = pytest.mark.live

def test_deleted_account_leaves_the_other_instance(live_server_factory):
    pair = alice_and_bob(live_server_factory)
    one, two = pair.one, pair.two
    servers = [one, two]
    alice_id = f"{one.base_url}/users/alice"
    bob_id = f"{two.base_url}/users/bob"
    two.cli("tribe", "create", "buurt", "--name", "De Buurt", "--owner", "bob")
    buurt_followers = f"{two.base_url}/tribes/buurt/followers"

    with httpx.Client(timeout=10) as api, httpx.Client(timeout=10) as alice_web, \
            httpx.Client(timeout=10) as bob_web:
        post = partial(outbox_post, api)
        # alice joins bob's open tribe; bob follows alice.
        resp = post(one, "alice", pair.alice_token,
                    {"@context": AS, "type": "Follow", "object": f"buurt@{two.host}"})
        assert resp.status_code == 201, resp.text
        wait_for(lambda: alice_id in collection_items(api, buurt_followers),
                 "the tribe on B to list alice", servers)
        resp = post(two, "bob", pair.bob_token,
                    {"@context": AS, "type": "Follow", "object": f"alice@{one.host}"})
        assert resp.status_code == 201, resp.text
        wait_for(lambda: collection_items(api, f"{bob_id}/following") == [alice_id],
                 "bob's following on B to list alice", servers)
        members_page = f"{two.base_url}/tribes/buurt/members"
        assert f"alice@{one.host}" in api.get(members_page).text

        # alice posts a public note; it reaches bob's inbox and timeline on B.
        resp = post(one, "alice", pair.alice_token, {
            "@context": AS, "type": "Create", "to": [PUBLIC], "cc": [f"{alice_id}/followers"],
            "object": {"type": "Note", "content": "Hallo buren van de Buurt"},
        })
        assert resp.status_code == 201, resp.text
        note_id = resp.json()["object"]["id"]
        wait_for(lambda: [i for i in inbox_items(api, bob_id, pair.bob_token)
                          if i.get("object", {}).get("id") == note_id],
                 "alice's note in bob's inbox", servers)
        web_login(bob_web, two.base_url, "bob")
        assert "Hallo buren van de Buurt" in bob_web.get(f"{two.base_url}/timeline").text

        # alice deletes her account in the account page: the wrong password is refused.
        web_login(alice_web, one.base_url, "alice")
        account = f"{one.base_url}/account"
        refused = alice_web.post(f"{account}/delete", data={
            "delete_password": "not my password", "csrf_token": csrf_of(alice_web, account)})
        assert refused.status_code == 400
        assert api.get(alice_id, headers={"Accept": AP}).status_code == 200
        done = alice_web.post(f"{account}/delete", data={
            "delete_password": PASSWORD, "csrf_token": csrf_of(alice_web, account)})
        assert done.status_code in (302, 303), done.text

        # A: her id is gone for good.
        gone = api.get(alice_id, headers={"Accept": AP})
        assert gone.status_code == 410
        assert gone.json()["type"] == "Tombstone" and gone.json()["id"] == alice_id

        # B: no longer in bob's following, the tribe's followers or its member list.
        wait_for(lambda: collection_items(api, f"{bob_id}/following") == [],
                 "bob's following on B to drop alice", servers)
        assert alice_id not in collection_items(api, buurt_followers)
        assert f"alice@{one.host}" not in api.get(members_page).text
        # B: her note is off bob's timeline and only its Tombstone is kept.
        assert "Hallo buren van de Buurt" not in bob_web.get(f"{two.base_url}/timeline").text
    with sqlite3.connect(two.data_dir / "fedi.sqlite3") as db:
        row = db.execute(
            "SELECT deleted_at, content_html, payload FROM objects WHERE ap_id = ?", (note_id,)
        ).fetchone()
    assert row is not None
    deleted_at, content_html, payload = row
    assert deleted_at is not None and content_html == "" and '"Tombstone"' in payload
