"""Tribes across two real ``fedi serve`` processes on loopback ports.

bob on instance B follows the tribe ``plein`` on instance A through his C2S outbox (by
handle, ``plein@host``), which joins the open tribe; alice posts in the tribe through her
outbox (the tribe in ``cc``); the tribe's Announces reach bob's inbox on B.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    PUBLIC,
    alice_and_bob,
    bob_joins_plein,
    inbox_items,
    outbox_post,
    tribe_plein,
    wait_for,
)

pytestmark = pytest.mark.live


def test_person_on_another_instance_joins_a_tribe_and_receives_its_posts(live_server_factory):
    pair = alice_and_bob(live_server_factory)
    one, two, alice_token, bob_token = pair
    servers = [one, two]
    plein = tribe_plein(one)
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=10) as client:
        post = partial(outbox_post, client)

        assert bob_joins_plein(client, pair)["object"] == plein
        members = client.get(f"{plein}/members?page=1", headers={"Accept": AP}).json()
        assert bob_id in members["orderedItems"]

        resp = post(one, "alice", alice_token, {
            "@context": AS, "type": "Note", "content": "Markt op zaterdag!",
            "to": [PUBLIC], "cc": [plein],
        })
        assert resp.status_code == 201, resp.text
        create = resp.json()
        note_id = create["object"]["id"] if isinstance(create["object"], dict) else create["object"]

        def tribe_announces() -> list[Any]:
            return [i for i in inbox_items(client, bob_id, bob_token)
                    if i.get("type") == "Announce" and i.get("actor") == plein]

        announces = wait_for(
            lambda: len(tribe_announces()) >= 2 and tribe_announces(),
            "the tribe's announces (wrapped Create and boost) in bob's inbox", servers,
        )
        objects = {a["object"] if isinstance(a["object"], str) else a["object"]["id"]
                   for a in announces}
        assert note_id in objects and create["id"] in objects
