"""SQLite with a worker or other serving processes beside the server: what another process
commits (here a second app on the same database file, as the worker child or a sibling
``FEDI_WEB_PROCESSES`` process is) reaches the server's event streams, and the server's own
changes are told once (``fedi.live.sqlite_watch``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fedi.app import create_app
from fedi.domain import contributions, conversation
from fedi.domain.initiative_access import get_initiative
from fedi.state import FediApp
from tests.conftest import DbTarget, make_settings
from tests.initiative_helpers import make_initiative, make_task, make_world
from tests.tribe_helpers import actor_named, login
from tests.web_initiative.sse_helpers import client_stream

# Why the serving app watches: it has a worker child, or it is one of several serving
# processes (a web child has no worker of its own).
BESIDE = {"worker child": {"worker_process": True}, "web processes": {"web_processes": 2}}


@pytest.fixture(params=list(BESIDE))
async def server_and_worker(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[FediApp, FediApp]]:
    """The serving app (with a worker process or sibling serving processes, so it watches)
    and the "worker": a second app on the same SQLite file."""
    target = DbTarget("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}")
    server = create_app(make_settings(tmp_path / "server", target, **BESIDE[request.param]))
    worker = create_app(make_settings(tmp_path / "worker", target))
    await server.state.db.upgrade()
    async with server.test_app(), worker.test_app():
        yield server, worker


async def test_the_workers_changes_reach_the_servers_streams(
    server_and_worker: tuple[FediApp, FediApp],
) -> None:
    server, worker = server_and_worker
    world = await make_world(server)
    initiative = await make_initiative(server, world)
    task = await make_task(server, initiative)
    client = server.test_client()
    await login(client, "ann")
    async with client_stream(client, f"/live?initiative={initiative.id}") as (status, stream):
        assert status == 200
        await stream.wait_for("ready")
        before = int((await stream.wait_for("unread")).data["count"])

        # The server's own message: told once, when it commits.
        async with server.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            own = await conversation.post_message(
                db, server.state.settings, item, await actor_named(db, "ann"), "Van hier"
            )
            own_id = own.id
        await stream.wait_for("message", update_id=own_id)

        # The worker's comment and offer (as an incoming activity would make them).
        async with worker.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            comment = await conversation.add_comment(
                db, worker.state.settings, item, await actor_named(db, "bob"), "Van elders",
                update_id=own_id,
            )
            comment_id = comment.id
        await stream.wait_for("comment", comment_id=comment_id)
        async with worker.state.db.session() as db:
            item = await get_initiative(db, initiative.id)
            await contributions.offer(
                db, worker.state.settings, item, await actor_named(db, "bob"), task.id,
                hours="2", motivation="Graag",
            )
        await stream.wait_for("offer")
        await stream.wait_for("progress")
        await stream.wait_for("unread", count=before + 2)  # the comment and the offer
        told = [e for e in stream.reader.seen
                if e.name == "message" and e.data.get("update_id") == own_id]
        assert len(told) == 1


async def test_the_workers_posts_reach_the_servers_status_streams(
    server_and_worker: tuple[FediApp, FediApp],
) -> None:
    """A post the worker stores (an incoming note, or as here one of ours) reaches the apps
    watching the public and author streams on the server, once; the server's own is not
    told a second time by the watcher."""
    from fedi.domain import notes
    from fedi.live.hub import hub_of
    from fedi.live.statuses import author_topic

    server, worker = server_and_worker
    await make_world(server)
    async with server.state.db.session() as db:
        ann_id = (await actor_named(db, "ann")).id
    hub = hub_of(server.state)
    async with hub.subscribe(["public:local", author_topic(ann_id)]) as sub:
        await stream_ready(server)
        async with worker.state.db.session() as db:
            post = await notes.create_note(
                db, worker.state, await actor_named(db, "ann"), "Uit de worker"
            )
            post_id = post.id
        seen = [await sub.get(within=10), await sub.get(within=10)]
        assert all(m is not None and m.kind == "status" for m in seen)
        assert {m.topic for m in seen if m} == {"public:local", author_topic(ann_id)}
        assert all(m.data == {"object_id": post_id} for m in seen if m)
        async with server.state.db.session() as db:
            await notes.create_note(db, server.state, await actor_named(db, "ann"), "Van hier")
        told = [await sub.get(within=10), await sub.get(within=10)]
        assert all(m is not None and m.data != {"object_id": post_id} for m in told)
        assert await sub.get(within=1.5) is None  # the watcher did not tell it again


async def stream_ready(server: FediApp) -> None:
    """Wait until the server's watcher has taken its first look (it learns where it is)."""
    import asyncio

    from fedi.live import sqlite_watch

    for _ in range(100):
        if any(w.newest is not None for w in sqlite_watch.watchers_of(server.state)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the SQLite watcher never started")
