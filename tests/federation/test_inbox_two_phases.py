"""Inbound items in two phases: prepare fetches with no transaction open, apply never fetches.

- A remote server that answers after 2 s (a real uvicorn server on a loopback port) holds a
  fetch the worker needs, while signed inbox POSTs and a C2S post of a local person go
  through the same process: each answers in well under 200 ms, and the slow item is then
  applied correctly.
- Apply asking for a document prepare did not fetch (``NeedsFetch``): the transaction is
  rolled back, the document fetched outside, and apply runs again; inside a batch the item
  leaves the batch and the others are still applied together.
- Poison items (an unusable id, actor or type, an embedded object whose ``type`` is a dict, a
  handler tripping over the payload's shape) end ``ignored`` with the reason after one
  attempt, or are refused at the door with a 400.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fakes import PUBLIC, FakeActor, FakeServer
from harness import add_local_person, make_app
from routing import RoutingTransport
from social_helpers import post_outbox
from sqlalchemy import func, select

from fedi.domain.accounts import create_user
from fedi.domain.tokens import create_token
from fedi.federation.incoming.registry import HANDLERS, PREPARERS, InboundContext, PrepareContext
from fedi.federation.remote.memo import FetchMemo, NeedsFetch, applying, current_memo
from fedi.federation.runtime import get_federation
from fedi.state import FediApp
from fedi.workers.inbox import InboxWorker
from models import Actor, ApObject, InboxItem, Reaction

BASE = "http://localhost:8001"
DELAY = 3.0
# Far below DELAY, so an accept that waited for the slow server fails; far above the few ms
# the accept path takes, so a machine busy with other work does not (timings are bench's job).
FAST = 1.0


class SlowServer(FakeServer):
    """A fake server whose GETs of ``slow`` paths answer after ``DELAY`` seconds."""

    def __init__(self, host: str) -> None:
        """Create the server for ``host`` (``127.0.0.1:PORT``)."""
        super().__init__(host)
        self.slow: set[str] = set()
        self.asked = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Like ``FakeServer``, but ``slow`` paths first make the caller wait."""
        if scope["type"] == "lifespan":
            return
        if scope["method"] == "GET" and scope["path"] in self.slow:
            self.asked.set()
            await asyncio.sleep(DELAY)
        await super().__call__(scope, receive, send)


@dataclass
class Loopback:
    """A :class:`SlowServer` under uvicorn on a free loopback port, in a thread."""

    server: SlowServer
    port: int


@pytest.fixture
def slow_server() -> Iterator[Loopback]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = SlowServer(f"127.0.0.1:{port}")
    config = uvicorn.Config(server, log_level="warning", lifespan="off", loop="asyncio",
                            http="h11", access_log=False)
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield Loopback(server, port)
    runner.should_exit = True
    thread.join(timeout=10)
    sock.close()


@dataclass
class Env:
    """One instance (SQLite) with local ``bob`` (a user with a token) and a fast remote."""

    app: FediApp
    http: httpx.AsyncClient
    masto: FakeServer
    alice: FakeActor
    token: str

    async def post(self, activity: dict[str, Any], path: str = "/inbox") -> httpx.Response:
        """POST ``activity`` to ``path`` signed by alice."""
        body = orjson.dumps(activity)
        headers = self.alice.signed_post(BASE + path, body)
        return await self.http.post(path, content=body, headers=headers)

    async def items(self) -> list[InboxItem]:
        """Every stored inbox item, oldest first."""
        async with self.app.state.db.session() as db:
            return list(await db.scalars(select(InboxItem).order_by(InboxItem.id)))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router)
    masto = FakeServer("mastodon.example")
    router.add(masto.host, masto)
    async with app.test_app():
        async with app.state.db.session() as db:
            await create_user(db, app.state.settings, username="bob",
                              email="bob@example.org", password="correct horse battery")
            await add_local_person(db, app.state.settings, "carol")
        async with app.state.db.session() as db:
            token = await create_token(db, "bob")
        alice = FakeActor(masto, "/users/alice")
        async with httpx.AsyncClient(transport=router, base_url=BASE) as http:
            yield Env(app, http, masto, alice, token)
    await router.close()


def remote_note(server: FakeServer, author: FakeActor, n: int, **extra: Any) -> dict[str, Any]:
    """A public note by ``author``, published on ``server``."""
    note = {"@context": "https://www.w3.org/ns/activitystreams",
            "id": server.url(f"/notes/{n}"), "type": "Note", "attributedTo": author.id,
            "content": f"<p>note {n}</p>", "to": [PUBLIC],
            "published": "2026-01-01T00:00:00Z", **extra}
    server.docs[f"/notes/{n}"] = note
    return note


async def count(app: FediApp, model: Any, *where: Any) -> int:
    async with app.state.db.session() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---------------------------------------------------------------- the slow server


async def test_accepts_and_c2s_stay_fast_while_a_fetch_is_slow(
    env: Env, slow_server: Loopback
) -> None:
    slow = slow_server.server
    # sam lives on the slow server; his note is boosted by alice (known, on a fast server),
    # so the worker must fetch the note and sam from the slow server (2 s each).
    sam = FakeActor(slow, "/users/sam")
    note = remote_note(slow, sam, 1)
    slow.slow.update({"/users/sam", "/notes/1"})
    # A fast item first: on the old path it wrote in the transaction that then fetched.
    assert (await env.post(env.alice.activity("Follow", f"{BASE}/users/carol"))).status_code == 202
    assert (await env.post(env.alice.activity("Announce", note["id"], to=[PUBLIC]))
            ).status_code == 202
    worker = InboxWorker(env.app.state)
    task = asyncio.create_task(worker.run_once())
    # Wait until the worker holds a request open on the slow server.
    deadline = time.monotonic() + 5
    while not slow.asked.is_set():
        assert time.monotonic() < deadline, "the worker never asked the slow server"
        await asyncio.sleep(0.01)
    timings: list[float] = []
    for n in range(5):
        started = time.monotonic()
        response = await env.post(env.alice.activity(
            "Create", remote_note(env.masto, env.alice, 100 + n), to=[PUBLIC]))
        timings.append(time.monotonic() - started)
        assert response.status_code == 202, response.text
    started = time.monotonic()
    response = await post_outbox(env.app, "bob", env.token, {
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
        "content": "posted while a remote server is slow", "to": [PUBLIC],
    })
    c2s = time.monotonic() - started
    assert response.status_code == 201, await response.get_data(as_text=True)
    assert max(timings) < FAST, timings
    assert c2s < FAST, c2s
    assert not task.done(), "the slow fetch should still be in flight"
    await task
    while await worker.run_once():
        pass
    # The slow item was applied: the note and its author stored, the boost recorded.
    assert await count(env.app, ApObject, ApObject.ap_id == note["id"]) == 1
    assert await count(env.app, Actor, Actor.ap_id == sam.id) == 1
    assert await count(env.app, Reaction, Reaction.object_ap_id == note["id"],
                       Reaction.kind == "Announce") == 1
    assert {i.state for i in await env.items()} == {"done"}


async def test_a_slow_item_does_not_hold_back_the_others(
    env: Env, slow_server: Loopback, monkeypatch: Any
) -> None:
    """Items that need the network are prepared in the background; the rest go on."""
    slow = slow_server.server
    sam = FakeActor(slow, "/users/sam")
    note = remote_note(slow, sam, 2)
    slow.slow.update({"/users/sam", "/notes/2"})
    applied: list[str] = []

    async def on_quick(ctx: InboundContext) -> None:
        applied.append(ctx.activity["id"])

    monkeypatch.setitem(HANDLERS, "Quick", on_quick)
    boost = env.alice.activity("Announce", note["id"], to=[PUBLIC])
    assert (await env.post(boost)).status_code == 202
    quick = [env.alice.activity("Quick", to=[PUBLIC]) for _ in range(3)]
    for activity in quick:
        assert (await env.post(activity)).status_code == 202
    worker = InboxWorker(env.app.state)
    started = time.monotonic()
    assert await worker.run_once(wait=False) == 4
    assert time.monotonic() - started < DELAY  # did not wait for the slow server
    assert applied == [a["id"] for a in quick]
    states = {i.ap_id: i.state for i in await env.items()}
    assert states[boost["id"]] == "pending"
    assert await worker.run_once() == 1  # nothing new: waits for the one in flight
    assert {i.state for i in await env.items()} == {"done"}
    assert await count(env.app, Reaction, Reaction.object_ap_id == note["id"]) == 1


async def test_in_process_runner_lets_accepts_go_first_but_never_starves(
    tmp_path: Path, slow_server: Loopback
) -> None:
    """``fedi serve`` with workers: a slow item finishes in the background, and the inbox
    loop still runs while inbox POSTs are (artificially, without end) being answered."""
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router, run_workers=True)
    masto = FakeServer("mastodon.example")
    router.add(masto.host, masto)
    slow = slow_server.server
    sam = FakeActor(slow, "/users/sam")
    note = remote_note(slow, sam, 3)
    slow.slow.add("/notes/3")
    try:
        async with app.test_app():
            async with app.state.db.session() as db:
                await add_local_person(db, app.state.settings, "carol")
            alice = FakeActor(masto, "/users/alice")
            env = Env(app, httpx.AsyncClient(transport=router, base_url=BASE), masto, alice, "")
            wakeup = get_federation(app.state).wakeup
            async with env.http:
                boost = alice.activity("Announce", note["id"], to=[PUBLIC])
                assert (await env.post(boost)).status_code == 202
                follow = alice.activity("Follow", f"{BASE}/users/carol")
                wakeup.accept_started()  # from now on an accept seems always in flight
                try:
                    assert (await env.post(follow)).status_code == 202
                    deadline = time.monotonic() + 10
                    states: dict[str, str] = {}
                    while time.monotonic() < deadline:
                        states = {i.ap_id: i.state for i in await env.items()}
                        if set(states.values()) == {"done"}:
                            break
                        await asyncio.sleep(0.05)
                finally:
                    wakeup.accept_finished()
            assert states == {boost["id"]: "done", follow["id"]: "done"}
    finally:
        await router.close()


# ---------------------------------------------------------------- NeedsFetch rounds


async def test_apply_asks_for_what_prepare_did_not_fetch(
    env: Env, monkeypatch: Any
) -> None:
    """A handler fetching something unforeseen: rolled back, fetched outside, applied again."""
    extra = remote_note(env.masto, env.alice, 7)
    rounds: list[bool] = []

    async def on_probe(ctx: InboundContext) -> None:
        rounds.append(current_memo() is not None)
        # Written before the fetch: must not survive the rolled-back round.
        ctx.db.add(ApObject(ap_id=f"{extra['id']}/draft-{len(rounds)}", type="Note",
                            payload={}, local=False))
        await ctx.db.flush()
        doc = await get_federation(ctx.state).fetcher.fetch_json(extra["id"])
        assert doc["content"] == "<p>note 7</p>"

    monkeypatch.setitem(HANDLERS, "Probe", on_probe)
    assert (await env.post(env.alice.activity("Probe", to=[PUBLIC]))).status_code == 202
    fetches = len(env.masto.requests)
    assert await InboxWorker(env.app.state).run_once() == 1
    [item] = await env.items()
    assert item.state == "done", item.error
    assert rounds == [True, True]  # apply ran twice, both times with the network closed
    assert env.masto.requests[fetches:] == [("GET", "/notes/7")]
    assert await count(env.app, ApObject, ApObject.ap_id.like(f"{extra['id']}/draft-%")) == 1


async def test_a_declared_prepare_step_fetches_ahead(env: Env, monkeypatch: Any) -> None:
    """``handles(..., prepare=...)``: fetched before apply, so apply runs once."""
    extra = remote_note(env.masto, env.alice, 11)
    rounds: list[str] = []

    async def fetch_ahead(ctx: PrepareContext) -> None:
        assert ctx.activity["object"] == extra["id"]
        await ctx.fetch(extra["id"])

    async def on_ahead(ctx: InboundContext) -> None:
        doc = await get_federation(ctx.state).fetcher.fetch_json(extra["id"])
        rounds.append(doc["id"])

    monkeypatch.setitem(HANDLERS, "Ahead", on_ahead)
    monkeypatch.setitem(PREPARERS, "Ahead", fetch_ahead)
    assert (await env.post(env.alice.activity("Ahead", extra["id"], to=[PUBLIC]))
            ).status_code == 202
    assert await InboxWorker(env.app.state).run_once() == 1
    [item] = await env.items()
    assert item.state == "done", item.error
    assert rounds == [extra["id"]]


async def test_a_needed_fetch_takes_the_item_out_of_its_batch(
    env: Env, monkeypatch: Any
) -> None:
    extra = remote_note(env.masto, env.alice, 8)
    applied: list[str] = []

    async def on_quick(ctx: InboundContext) -> None:
        applied.append(ctx.activity["id"])

    async def on_needy(ctx: InboundContext) -> None:
        await get_federation(ctx.state).fetcher.fetch_json(extra["id"])
        applied.append(ctx.activity["id"])

    monkeypatch.setitem(HANDLERS, "Quick", on_quick)
    monkeypatch.setitem(HANDLERS, "Needy", on_needy)
    sent = [env.alice.activity(kind, to=[PUBLIC])
            for kind in ("Quick", "Quick", "Needy", "Quick", "Quick")]
    for activity in sent:
        assert (await env.post(activity)).status_code == 202
    assert await InboxWorker(env.app.state).run_once() == 5
    assert {i.state for i in await env.items()} == {"done"}
    # Each applied once for good (rolled-back passes do not count as done twice).
    assert sorted(set(applied)) == sorted(a["id"] for a in sent)
    assert ("GET", "/notes/8") in env.masto.requests


async def test_memo_is_only_for_the_task_that_applies(env: Env) -> None:
    """Web requests of the same process keep the network while an item is applied."""
    note = remote_note(env.masto, env.alice, 9)
    memo = FetchMemo()
    fetcher = get_federation(env.app.state).fetcher
    with applying(memo):
        with pytest.raises(NeedsFetch):
            await fetcher.fetch_json(note["id"])
        # Another task (a web request) goes to the network as usual.
        other = asyncio.create_task(_fetch_outside(env.app, note["id"]))
        assert (await other)["id"] == note["id"]
    assert memo.missing == [("json", note["id"])]
    assert (await fetcher.fetch_json(note["id"]))["id"] == note["id"]


async def _fetch_outside(app: FediApp, url: str) -> dict[str, Any]:
    memo = current_memo()
    assert memo is not None  # a task copies the context...
    memo.active = False  # ...but applying() switches it off when it ends; simulate that
    try:
        return await get_federation(app.state).fetcher.fetch_json(url)
    finally:
        memo.active = True


# ---------------------------------------------------------------- poison


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "not a url"),
        ("id", {"nested": True}),
        ("actor", "mailto:alice@example.org"),
        ("type", {"Create": True}),
        ("type", ["Create", 3]),
    ],
)
async def test_unusable_activity_is_refused_at_the_door(
    env: Env, field: str, value: Any
) -> None:
    activity = env.alice.activity("Create", remote_note(env.masto, env.alice, 20), to=[PUBLIC])
    activity[field] = value
    response = await env.post(activity)
    assert response.status_code == 400, response.text
    assert "unusable" in response.json()["error"]
    assert await env.items() == []


def _stored(env: Env, payload: dict[str, Any], kind: str) -> InboxItem:
    return InboxItem(ap_id=str(payload.get("id")), type=kind, actor_ap_id=env.alice.id,
                     payload=payload, signed_by=env.alice.id)


@pytest.mark.parametrize(
    "shape",
    ["object_type_dict", "object_type_array_of_dicts", "bad_id", "actor_not_url",
     "handler_type_error"],
)
async def test_poison_items_are_ignored_after_one_attempt(
    env: Env, shape: str, monkeypatch: Any, caplog: Any
) -> None:
    """Stored before the door checked them (or odd deeper down): one attempt, a reason."""
    env.alice.publish()
    note = remote_note(env.masto, env.alice, 30)
    activity = env.alice.activity("Create", dict(note), to=[PUBLIC])
    kind = "Create"
    if shape == "object_type_dict":
        activity["object"]["type"] = {"Note": True}
    elif shape == "object_type_array_of_dicts":
        activity["object"]["type"] = [{"a": 1}, "Note"]
    elif shape == "bad_id":
        activity["id"] = "::not a url::"
    elif shape == "actor_not_url":
        activity["actor"] = "alice"
    else:
        async def on_shape(ctx: InboundContext) -> None:
            # What a handler does with a list where it expects a string.
            ctx.activity["object"]["content"].startswith("<p>")

        kind = "Shape"
        activity["type"] = "Shape"
        activity["object"]["content"] = ["<p>a</p>", "<p>b</p>"]
        monkeypatch.setitem(HANDLERS, "Shape", on_shape)
    async with env.app.state.db.session() as db:
        db.add(_stored(env, activity, kind))
    caplog.set_level("INFO", logger="fedi.workers.inbox")
    assert await InboxWorker(env.app.state).run_once() == 1
    [item] = await env.items()
    assert item.state == "ignored", (item.state, item.error)
    assert item.attempts == 0
    assert item.error
    assert await InboxWorker(env.app.state).run_once() == 0  # nothing left to retry
    records = [r for r in caplog.records if r.name == "fedi.workers.inbox"]
    assert len(records) == 1 and records[0].levelname == "INFO"
    assert records[0].exc_info is None


async def test_poison_in_a_batch_leaves_it_and_is_logged_once(
    env: Env, monkeypatch: Any, caplog: Any
) -> None:
    applied: list[str] = []

    async def on_quick(ctx: InboundContext) -> None:
        applied.append(ctx.activity["id"])

    async def on_shape(ctx: InboundContext) -> None:
        ctx.activity["object"]["content"].startswith("<p>")

    monkeypatch.setitem(HANDLERS, "Quick", on_quick)
    monkeypatch.setitem(HANDLERS, "Shape", on_shape)
    env.alice.publish()
    poison = env.alice.activity("Shape", {"id": env.masto.url("/notes/50"), "type": "Note",
                                          "content": ["<p>a</p>"]}, to=[PUBLIC])
    quick = [env.alice.activity("Quick", to=[PUBLIC]) for _ in range(4)]
    for activity in (*quick[:2], poison, *quick[2:]):
        assert (await env.post(activity)).status_code == 202
    caplog.set_level("INFO", logger="fedi.workers.inbox")
    assert await InboxWorker(env.app.state).run_once() == 5
    states = {i.ap_id: (i.state, i.attempts) for i in await env.items()}
    assert states.pop(poison["id"]) == ("ignored", 0)
    assert set(states.values()) == {("done", 0)}
    assert sorted(set(applied)) == sorted(a["id"] for a in quick)
    records = [r for r in caplog.records if r.name == "fedi.workers.inbox"]
    assert [r.levelname for r in records] == ["INFO"], [r.getMessage() for r in records]
    assert records[0].exc_info is None and "AttributeError" in records[0].getMessage()


async def test_gone_object_is_permanent_and_network_failure_is_retried(env: Env) -> None:
    env.alice.publish()
    env.masto.gone.add("/notes/40")
    gone = env.alice.activity("Announce", env.masto.url("/notes/40"), to=[PUBLIC])
    down = env.alice.activity("Announce", "http://127.0.0.1:9/notes/41", to=[PUBLIC])
    async with env.app.state.db.session() as db:
        db.add(_stored(env, gone, "Announce"))
        db.add(_stored(env, down, "Announce"))
    assert await InboxWorker(env.app.state).run_once() == 2
    by_id = {i.ap_id: i for i in await env.items()}
    assert by_id[gone["id"]].state == "ignored"
    # Connection refused: may work later, so it waits for its next try.
    assert by_id[down["id"]].state == "pending"
    assert by_id[down["id"]].attempts == 1
    assert "fetch failed" in (by_id[down["id"]].error or "")
