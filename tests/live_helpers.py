"""Helpers for tests against real ``fedi serve`` processes (the ``live_server_factory``
fixture): accounts with C2S tokens, outbox posts, collections, and bounded polling.

The in-process workers of a live instance deliver asynchronously, so tests wait for an
outcome with :func:`wait_for` instead of sleeping a fixed time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
AP = "application/activity+json"
PASSWORD = "correct horse battery staple 42"


def wait_for(
    check: Callable[[], Any], what: str, servers: list[Any], timeout: float = 30.0,
    interval: float = 0.2,
) -> Any:
    """Poll ``check`` every ``interval`` seconds until it returns something true and return
    that; after ``timeout`` seconds fail with the tail of every server's log."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n\n".join(s.log()[-3000:] for s in servers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def collection_items(client: httpx.Client, url: str) -> list[Any]:
    """The items on the first page of an ordered collection."""
    top = client.get(url, headers={"Accept": AP})
    top.raise_for_status()
    first = top.json()["first"]
    page = client.get(first if isinstance(first, str) else first["id"], headers={"Accept": AP})
    page.raise_for_status()
    return list(page.json()["orderedItems"])


def inbox_items(client: httpx.Client, actor_id: str, token: str) -> list[Any]:
    """Every item in a local person's inbox, all pages (read with their bearer token)."""
    items: list[Any] = []
    url: str | None = f"{actor_id}/inbox?page=1"
    while url:
        page = client.get(url, headers={"Authorization": f"Bearer {token}", "Accept": AP})
        page.raise_for_status()
        doc = page.json()
        items.extend(doc["orderedItems"])
        url = doc.get("next")
    return items


def person_with_token(server: Any, name: str) -> str:
    """An account ``name`` on ``server`` (password :data:`PASSWORD`) and a C2S bearer token
    for it (``fedi token create``)."""
    server.cli("user", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    result = server.cli("token", "create", name, "--label", "live test")
    return str(result.stdout.strip().splitlines()[-1].strip())


def outbox_post(
    client: httpx.Client, server: Any, name: str, token: str, body: dict[str, Any]
) -> httpx.Response:
    """POST ``body`` to the C2S outbox of the local person ``name`` with their token."""
    return client.post(
        f"{server.base_url}/users/{name}/outbox", json=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": AP},
    )


class AliceAndBob(NamedTuple):
    """Two live instances: alice (with a C2S token) on ``one``, bob on ``two``."""

    one: Any
    two: Any
    alice_token: str
    bob_token: str


def alice_and_bob(live_server_factory: Any, db: str = "sqlite", **env: str) -> AliceAndBob:
    """Start two instances (both with the extra ``env``, the first on ``db``) with alice on
    the first and bob on the second, each with a C2S token."""
    one = live_server_factory(db, **env)
    two = live_server_factory(**env)
    return AliceAndBob(one, two, person_with_token(one, "alice"), person_with_token(two, "bob"))


def tribe_plein(server: Any) -> str:
    """Create the open tribe ``plein`` ("Het Plein") owned by alice; returns its id."""
    server.cli("tribe", "create", "plein", "--name", "Het Plein", "--owner", "alice")
    return f"{server.base_url}/tribes/plein"


def bob_joins_plein(client: httpx.Client, pair: AliceAndBob) -> dict[str, Any]:
    """bob on ``pair.two`` follows the open tribe ``plein`` on ``pair.one`` through his
    outbox, by handle (which makes him a member); waits until the tribe's followers list
    him and returns the ``Follow`` his outbox answered with."""
    one, two = pair.one, pair.two
    resp = outbox_post(client, two, "bob", pair.bob_token,
                       {"@context": AS, "type": "Follow", "object": f"plein@{one.host}"})
    assert resp.status_code == 201, resp.text
    bob_id = f"{two.base_url}/users/bob"
    wait_for(lambda: bob_id in collection_items(client, f"{one.base_url}/tribes/plein/followers"),
             "the tribe's followers to list bob", [one, two])
    return dict(resp.json())


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: httpx.Client, url: str) -> str:
    """The CSRF token of the form on the page at ``url`` (redirects followed)."""
    page = client.get(url, follow_redirects=True)
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {url}: {page.status_code}"
    return match.group(1)


def web_login(client: httpx.Client, base: str, name: str) -> None:
    """Log ``name`` in through the login form of the instance at ``base``."""
    token = csrf_of(client, f"{base}/login")
    resp = client.post(f"{base}/login", data={
        "login": name, "password": PASSWORD, "csrf_token": token,
    })
    assert resp.status_code in (302, 303), resp.text
