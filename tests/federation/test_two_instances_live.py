"""The issue's "done when", with two real ``fedi serve`` processes on loopback ports.

alice@localhost:PORT1 follows bob@localhost:PORT2 through her C2S outbox (a bearer token from
``fedi token create``), bob's followers collection lists her, bob's public note (posted
through his outbox) reaches her inbox (read with her token), and her Undo removes her.
The in-process workers deliver asynchronously, so each step polls with a bounded loop.
"""

from __future__ import annotations

from functools import partial

import httpx
import pytest
from live_helpers import (
    AS,
    PUBLIC,
    alice_and_bob,
    collection_items,
    inbox_items,
    outbox_post,
    wait_for,
)

pytestmark = pytest.mark.live


def test_follow_post_undo_between_two_live_instances(live_server_factory):
    one, two, alice_token, bob_token = alice_and_bob(live_server_factory)
    servers = [one, two]
    alice_id = f"{one.base_url}/users/alice"
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=10) as client:
        post = partial(outbox_post, client)

        # alice follows bob through her outbox, by handle.
        resp = post(one, "alice", alice_token, {
            "@context": AS, "type": "Follow", "object": f"bob@{two.host}",
        })
        assert resp.status_code == 201, resp.text
        follow = resp.json()
        assert resp.headers["Location"] == follow["id"]
        assert follow["object"] == bob_id

        wait_for(
            lambda: collection_items(client, f"{bob_id}/followers") == [alice_id],
            "bob's followers to list alice", servers,
        )
        wait_for(
            lambda: collection_items(client, f"{alice_id}/following") == [bob_id],
            "alice's following to list bob (Accept received)", servers,
        )

        # bob posts a public note through his outbox; it reaches alice's inbox.
        resp = post(two, "bob", bob_token, {
            "@context": AS, "type": "Create", "to": [PUBLIC], "cc": [f"{bob_id}/followers"],
            "object": {"type": "Note", "content": "Hello from the other instance"},
        })
        assert resp.status_code == 201, resp.text
        create = resp.json()

        found = wait_for(
            lambda: [i for i in inbox_items(client, alice_id, alice_token)
                     if i.get("id") == create["id"]],
            "bob's note in alice's inbox", servers,
        )
        assert found[0]["object"]["content"].startswith("<p>Hello from the other instance")
        # Nobody else can read alice's inbox.
        denied = client.get(f"{alice_id}/inbox", headers={"Authorization": f"Bearer {bob_token}"})
        assert denied.status_code == 401

        # alice undoes her follow; bob's followers no longer list her.
        resp = post(one, "alice", alice_token, {"@context": AS, "type": "Undo",
                                                "object": follow["id"]})
        assert resp.status_code == 201, resp.text
        wait_for(
            lambda: collection_items(client, f"{bob_id}/followers") == [],
            "bob's followers to be empty after the Undo", servers,
        )
        assert collection_items(client, f"{alice_id}/following") == []
