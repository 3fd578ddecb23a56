"""Tribes across two real ``fedi serve`` processes on loopback ports.

bob on instance B follows the tribe ``plein`` on instance A through his C2S outbox (by
handle, ``plein@host``), which joins the open tribe; alice posts in the tribe through her
outbox (the tribe in ``cc``); the tribe's Announces reach bob's inbox on B.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_two_instances_live import AP, AS, PUBLIC, _collection_items, _setup_person, _wait_for

pytestmark = pytest.mark.live


def test_person_on_another_instance_joins_a_tribe_and_receives_its_posts(live_server_factory):
    one = live_server_factory()
    two = live_server_factory()
    servers = [one, two]
    alice_token = _setup_person(one, "alice")
    bob_token = _setup_person(two, "bob")
    one.cli("tribe", "create", "plein", "--name", "Het Plein", "--owner", "alice")
    plein = f"{one.base_url}/tribes/plein"
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=10) as client:
        def post(server: Any, name: str, token: str, body: dict[str, Any]) -> httpx.Response:
            return client.post(
                f"{server.base_url}/users/{name}/outbox", json=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": AP},
            )

        resp = post(two, "bob", bob_token, {
            "@context": AS, "type": "Follow", "object": f"plein@{one.host}",
        })
        assert resp.status_code == 201, resp.text
        assert resp.json()["object"] == plein
        _wait_for(
            lambda: bob_id in _collection_items(client, f"{plein}/followers"),
            "the tribe's followers to list bob", servers,
        )
        members = client.get(f"{plein}/members?page=1", headers={"Accept": AP}).json()
        assert bob_id in members["orderedItems"]

        resp = post(one, "alice", alice_token, {
            "@context": AS, "type": "Note", "content": "Markt op zaterdag!",
            "to": [PUBLIC], "cc": [plein],
        })
        assert resp.status_code == 201, resp.text
        create = resp.json()
        note_id = create["object"]["id"] if isinstance(create["object"], dict) else create["object"]

        def bob_inbox() -> list[Any]:
            page = client.get(f"{bob_id}/inbox?page=1",
                              headers={"Authorization": f"Bearer {bob_token}", "Accept": AP})
            page.raise_for_status()
            return list(page.json()["orderedItems"])

        def tribe_announces() -> list[Any]:
            return [i for i in bob_inbox()
                    if i.get("type") == "Announce" and i.get("actor") == plein]

        announces = _wait_for(
            lambda: len(tribe_announces()) >= 2 and tribe_announces(),
            "the tribe's announces (wrapped Create and boost) in bob's inbox", servers,
        )
        objects = {a["object"] if isinstance(a["object"], str) else a["object"]["id"]
                   for a in announces}
        assert note_id in objects and create["id"] in objects
