"""The issue's "done when", with two real ``fedi serve`` processes on loopback ports.

alice@localhost:PORT1 follows bob@localhost:PORT2 through her C2S outbox (a bearer token from
``fedi token create``), bob's followers collection lists her, bob's public note (posted
through his outbox) reaches her inbox (read with her token), and her Undo removes her.
The in-process workers deliver asynchronously, so each step polls with a bounded loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.live

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
AP = "application/activity+json"
PASSWORD = "correct horse battery staple 42"


def _wait_for(
    check: Callable[[], Any], what: str, servers: list[Any], timeout: float = 20.0
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n\n".join(s.log()[-3000:] for s in servers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def _collection_items(client: httpx.Client, url: str) -> list[Any]:
    top = client.get(url, headers={"Accept": AP})
    top.raise_for_status()
    first = top.json()["first"]
    page = client.get(first if isinstance(first, str) else first["id"], headers={"Accept": AP})
    page.raise_for_status()
    return list(page.json()["orderedItems"])


def _setup_person(server: Any, name: str) -> str:
    server.cli("user", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    result = server.cli("token", "create", name, "--label", "live test")
    return result.stdout.strip().splitlines()[-1].strip()


def test_follow_post_undo_between_two_live_instances(live_server_factory):
    one = live_server_factory()
    two = live_server_factory()
    servers = [one, two]
    alice_token = _setup_person(one, "alice")
    bob_token = _setup_person(two, "bob")
    alice_id = f"{one.base_url}/users/alice"
    bob_id = f"{two.base_url}/users/bob"

    with httpx.Client(timeout=10) as client:
        def post(server: Any, name: str, token: str, body: dict[str, Any]) -> httpx.Response:
            return client.post(
                f"{server.base_url}/users/{name}/outbox",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": AP},
            )

        # alice follows bob through her outbox, by handle.
        resp = post(one, "alice", alice_token, {
            "@context": AS, "type": "Follow", "object": f"bob@{two.host}",
        })
        assert resp.status_code == 201, resp.text
        follow = resp.json()
        assert resp.headers["Location"] == follow["id"]
        assert follow["object"] == bob_id

        _wait_for(
            lambda: _collection_items(client, f"{bob_id}/followers") == [alice_id],
            "bob's followers to list alice", servers,
        )
        _wait_for(
            lambda: _collection_items(client, f"{alice_id}/following") == [bob_id],
            "alice's following to list bob (Accept received)", servers,
        )

        # bob posts a public note through his outbox; it reaches alice's inbox.
        resp = post(two, "bob", bob_token, {
            "@context": AS, "type": "Create", "to": [PUBLIC], "cc": [f"{bob_id}/followers"],
            "object": {"type": "Note", "content": "Hello from the other instance"},
        })
        assert resp.status_code == 201, resp.text
        create = resp.json()

        def alice_inbox() -> list[Any]:
            items = []
            url: str | None = f"{alice_id}/inbox?page=1"
            while url:
                page = client.get(url, headers={"Authorization": f"Bearer {alice_token}",
                                                "Accept": AP})
                page.raise_for_status()
                doc = page.json()
                items.extend(doc["orderedItems"])
                url = doc.get("next")
            return items

        found = _wait_for(
            lambda: [i for i in alice_inbox() if i.get("id") == create["id"]],
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
        _wait_for(
            lambda: _collection_items(client, f"{bob_id}/followers") == [],
            "bob's followers to be empty after the Undo", servers,
        )
        assert _collection_items(client, f"{alice_id}/following") == []
