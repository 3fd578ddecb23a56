"""Server-sent events for the pages: ``GET /live`` streams what changed while a page is open.

``/live?initiative=<id>`` watches one initiative (its page, board and task pages); a
logged-in person also hears about their own notifications (the count in the header). The
initiative is checked with the very rules of its page (``initiative_access.require_view``):
a visitor who may not see it gets the page's 404 (or 410), never its events, and the check
is repeated while the stream is open, so someone who left a tribe stops hearing a
members-only initiative. Without anything to watch the answer is 204, which tells the
browser's ``EventSource`` to stop reconnecting.

Events carry ids and kinds only (see ``fedi.live.initiatives``); the page's script reloads
the parts it shows (``fedi/static/js/live.js``), again with the viewer's permissions, and
without JavaScript the pages work as before, by reloading.

The stream holds no database session: each check opens and closes its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, g, request

import fedi.live.initiatives  # noqa: F401  (registers the initiative subscribers)
from fedi.domain import notifications
from fedi.domain.errors import NotFound
from fedi.domain.initiative_access import find_initiative, require_view
from fedi.live import pg_bridge, sqlite_watch
from fedi.live.hub import LiveMessage, hub_of
from fedi.live.initiatives import initiative_topic
from fedi.state import AppState, FediApp, get_state
from models import Actor

__all__ = ["HEARTBEAT_SECONDS", "RECHECK_SECONDS", "blueprint", "install"]

blueprint = Blueprint("live", __name__)

# A comment line this often keeps proxies from closing an idle stream; the permission check
# runs again at most this often.
HEARTBEAT_SECONDS = 15.0
RECHECK_SECONDS = 60.0


def install(app: FediApp) -> None:
    """Make the app's hub at start-up (commits find it from then on) and, on PostgreSQL,
    start the ``LISTEN``/``NOTIFY`` bridge with the app; on SQLite with a worker process or
    other serving processes, watch for the rows they write (``fedi.live.sqlite_watch``)."""
    state = app.state

    async def make_hub(_app: FediApp) -> None:
        hub_of(state)

    state.startup_hooks.append(make_hub)
    pg_bridge.install(state)
    sqlite_watch.install(state)


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _may_watch(state: AppState, initiative_id: int, viewer_id: int | None) -> int:
    """200 when the viewer may see the initiative, else the status its page would answer."""
    async with state.db.session() as db:
        initiative = await find_initiative(db, initiative_id)
        if initiative is None:
            return 404
        if initiative.deleted_at is not None:
            return 410
        viewer = await db.get(Actor, viewer_id) if viewer_id is not None else None
        try:
            await require_view(db, initiative, viewer)
        except NotFound:
            return 404
    return 200


async def _unread(state: AppState, person_id: int) -> int:
    async with state.db.session() as db:
        person = await db.get(Actor, person_id)
        return 0 if person is None else await notifications.unread_count(db, person)


def _initiative_arg() -> int | None:
    raw = request.args.get("initiative", "")
    return int(raw) if raw.isdigit() else None


@blueprint.get("/live")
async def live() -> Response:
    """The event stream of the page that asks (see the module notes)."""
    state = get_state()
    viewer_id: int | None = g.user.actor.id if g.user is not None else None
    initiative_id = _initiative_arg()
    topics: list[str] = []
    if initiative_id is not None:
        status = await _may_watch(state, initiative_id, viewer_id)
        if status != 200:
            return Response("", status=status)
        topics.append(initiative_topic(initiative_id))
    if viewer_id is not None:
        topics.append(f"person:{viewer_id}")
    if not topics:
        return Response("", status=204)
    subscription = hub_of(state).subscribe(topics)

    async def stream() -> AsyncIterator[bytes]:
        async with subscription:
            # The browser waits this long before reconnecting after a dropped stream.
            yield b"retry: 3000\n\n"
            yield sse("ready", {"topics": topics})
            if viewer_id is not None:
                yield sse("unread", {"count": await _unread(state, viewer_id)})
            checked = time.monotonic()
            while True:
                message: LiveMessage | None = await subscription.get(HEARTBEAT_SECONDS)
                if initiative_id is not None and time.monotonic() - checked > RECHECK_SECONDS:
                    checked = time.monotonic()
                    if await _may_watch(state, initiative_id, viewer_id) != 200:
                        yield sse("gone", {})
                        return
                if message is None:
                    yield b": keep-alive\n\n"
                elif message.kind == "notification" and viewer_id is not None:
                    yield sse("unread", {"count": await _unread(state, viewer_id)})
                else:
                    yield sse(message.kind, message.data)

    response = Response(stream(), status=200, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # nginx would otherwise buffer the stream (deploy/ puts it in front of the app).
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response
