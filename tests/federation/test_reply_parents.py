"""Replies to a post we never stored: its parent is fetched once, and each reply applied once.

- A burst of replies (from one server) to a parent on another server: prepare fetches the
  parent and its author (the thread walk stores the parent with its author) once for all of
  them, so apply never has to stop for a document (no ``NeedsFetch`` round); every reply and
  the parent are stored once.
- A later reply to the same parent reads the stored parent: no GET at all.
- :class:`RecentDocuments`: concurrent fetches of one URL are joined, failures are not
  kept, answers expire and the size is bounded, and each caller gets its own copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fakes import PUBLIC, FakeActor, FakeServer
from harness import make_app
from routing import RoutingTransport
from sqlalchemy import func, select

from activitypub.fetcher import FetchError
from fedi.federation.remote.recent import RecentDocuments
from fedi.state import FediApp
from fedi.workers import inbox as inbox_worker
from fedi.workers.inbox import InboxWorker
from models import ApObject, InboxItem

BASE = "http://localhost:8001"


@dataclass
class Env:
    """One instance; ``alice`` on mastodon.example replies to ``dan`` on other.example."""

    app: FediApp
    http: httpx.AsyncClient
    masto: FakeServer
    other: FakeServer
    alice: FakeActor
    dan: FakeActor

    async def reply(self, n: int, parent: str) -> None:
        """Alice's reply ``n`` to ``parent``, POSTed to the shared inbox."""
        note = {"id": self.masto.url(f"/notes/r{n}"), "type": "Note",
                "attributedTo": self.alice.id, "content": f"<p>reply {n}</p>",
                "inReplyTo": parent, "to": [PUBLIC], "published": "2026-01-01T00:00:00Z"}
        body = orjson.dumps(self.alice.activity("Create", note, to=[PUBLIC]))
        headers = self.alice.signed_post(BASE + "/inbox", body)
        response = await self.http.post("/inbox", content=body, headers=headers)
        assert response.status_code == 202, response.text


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router)
    masto, other = FakeServer("mastodon.example"), FakeServer("other.example")
    router.add(masto.host, masto)
    router.add(other.host, other)
    async with app.test_app():
        alice = FakeActor(masto, "/users/alice")
        dan = FakeActor(other, "/users/dan")
        async with httpx.AsyncClient(transport=router, base_url=BASE) as http:
            yield Env(app, http, masto, other, alice, dan)
    await router.close()


def parent_note(env: Env, n: int) -> str:
    """Dan's public note ``n`` on other.example (never sent to us); its id."""
    note = {"@context": "https://www.w3.org/ns/activitystreams",
            "id": env.other.url(f"/notes/{n}"), "type": "Note", "attributedTo": env.dan.id,
            "content": f"<p>parent {n}</p>", "to": [PUBLIC],
            "published": "2026-01-01T00:00:00Z"}
    env.other.docs[f"/notes/{n}"] = note
    return str(note["id"])


async def stored(app: FediApp, ap_id: str) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(
            select(func.count()).select_from(ApObject).where(ApObject.ap_id == ap_id)
        ) or 0)


async def test_a_burst_of_replies_fetches_the_parent_once_and_applies_once(
    env: Env, monkeypatch: Any
) -> None:
    parent = parent_note(env, 1)
    rounds: list[str] = []
    original = inbox_worker.fetch_needed

    async def counted(state: Any, memo: Any, need: Any) -> None:
        rounds.append(need.key)
        await original(state, memo, need)

    monkeypatch.setattr(inbox_worker, "fetch_needed", counted)
    for n in range(4):
        await env.reply(n, parent)
    worker = InboxWorker(env.app.state)
    assert await worker.run_once() == 4
    async with env.app.state.db.session() as db:
        states = [i.state for i in await db.scalars(select(InboxItem))]
    assert states == ["done"] * 4
    assert rounds == []  # prepare fetched everything apply needed
    assert env.other.requests.count(("GET", "/notes/1")) == 1
    assert env.other.requests.count(("GET", "/users/dan")) == 1
    assert await stored(env.app, parent) == 1
    for n in range(4):
        assert await stored(env.app, env.masto.url(f"/notes/r{n}")) == 1

    # A later reply finds the parent stored: nothing is fetched again.
    before = len(env.other.requests)
    await env.reply(9, parent)
    assert await worker.run_once() == 1
    assert env.other.requests[before:] == []
    assert await stored(env.app, env.masto.url("/notes/r9")) == 1


async def test_recent_documents_join_keep_and_forget() -> None:
    recent = RecentDocuments(size=2, ttl=60.0)
    calls: list[str] = []
    release = asyncio.Event()

    async def load(url: str) -> dict[str, Any] | FetchError:
        calls.append(url)
        await release.wait()
        return {"id": url, "tag": [url]}

    first = asyncio.create_task(recent.fetch("u1", lambda: load("u1")))
    second = asyncio.create_task(recent.fetch("u1", lambda: load("u1")))
    await asyncio.sleep(0)
    release.set()
    one, two = await first, await second
    assert calls == ["u1"] and one == two == {"id": "u1", "tag": ["u1"]}
    assert one is not two and one["tag"] is not two["tag"]  # each caller has its own copy
    assert await recent.fetch("u1", lambda: load("u1")) == one and calls == ["u1"]

    async def fail() -> dict[str, Any] | FetchError:
        calls.append("bad")
        return FetchError("no", url="bad", status=503)

    assert isinstance(await recent.fetch("bad", fail), FetchError)
    assert isinstance(await recent.fetch("bad", fail), FetchError)
    assert calls.count("bad") == 2  # a failure is not kept

    await recent.fetch("u2", lambda: load("u2"))
    await recent.fetch("u3", lambda: load("u3"))  # size 2: u1, the oldest, goes
    await recent.fetch("u1", lambda: load("u1"))
    assert calls.count("u1") == 2

    expired = RecentDocuments(ttl=-1.0)
    await expired.fetch("u4", lambda: load("u4"))
    await expired.fetch("u4", lambda: load("u4"))
    assert calls.count("u4") == 2
