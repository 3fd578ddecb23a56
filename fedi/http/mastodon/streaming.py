"""The streaming API: new statuses, deletions and notifications as they happen.

Two transports, as on Mastodon:

* WebSocket ``/api/v1/streaming?stream=user`` (and ``public``, ``public:local``,
  ``public:remote``, ``hashtag``/``hashtag:local`` with ``tag``, ``user:notification``);
  more streams can be added and removed on the open socket with
  ``{"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ...}``. Every message is
  ``{"stream": [...], "event": "update"|"delete"|"notification", "payload": "<json>"}``.
* Server-sent events ``/api/v1/streaming/user``, ``/user/notification``, ``/public``,
  ``/public/local``, ``/public/remote``, ``/hashtag``, ``/hashtag/local`` (what
  Mastodon.py's ``stream_user`` reads): ``event: update`` + ``data: <json>`` blocks, and a
  ``:thump`` comment line as heartbeat.

The token comes from ``Authorization: Bearer``, the ``access_token`` query parameter, or
the ``Sec-WebSocket-Protocol`` header (browsers cannot set headers on a WebSocket). The
user streams need a token with ``read``; the public streams are open to anyone, as the
public timelines are.

Streams are fed by the live hub (``fedi.live.hub``, topics from ``fedi.live.statuses``);
its messages carry ids only, and each one is read and checked against the watcher's
permissions (``status_queries.may_see``) before anything is sent. No database session stays
open while a stream waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quart import Blueprint, Response, request, websocket
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import fedi.live.statuses  # noqa: F401  (registers the status hooks)
from fedi.domain import oauth
from fedi.domain.tokens import TOKEN_PREFIX, authenticate_token
from fedi.http.mastodon import status_ids
from fedi.http.mastodon.common import ApiBlueprint, ApiError
from fedi.http.mastodon.notifications import notification_entities
from fedi.http.mastodon.status_entity import StatusItem, render_status
from fedi.http.mastodon.status_queries import may_see
from fedi.live.hub import LiveMessage, Subscription, hub_of
from fedi.live.statuses import author_topic, hashtag_topic
from fedi.state import AppState, get_state
from models import Actor, ApObject, Follow, Notification, Reaction, Tribe, TribeMember

__all__ = ["blueprint", "sse_blueprint"]

log = logging.getLogger(__name__)

# A plain blueprint for the WebSocket route (no trailing-slash twin, no JSON wrapper), and
# an API blueprint for the event streams.
blueprint = Blueprint("mastodon_streaming_ws", __name__)
sse_blueprint = ApiBlueprint("mastodon_streaming", __name__)

HEARTBEAT_SECONDS = 15.0
USER_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:remote", "hashtag", "hashtag:local")
# Whose posts a home stream follows at most (more are left out of the live stream only).
MAX_AUTHORS = 5000


@dataclass(frozen=True)
class Stream:
    """One stream a watcher asked for: its name, the topics it listens to, and filters."""

    name: str
    topics: frozenset[str]
    viewer_id: int | None
    tag: str | None = None
    only_local: bool = False
    only_remote: bool = False
    notifications_only: bool = False

    @property
    def label(self) -> list[str]:
        """The ``stream`` field of a WebSocket message."""
        return [self.name, self.tag] if self.tag else [self.name]


async def _token_viewer(db: AsyncSession, token: str) -> Actor | None:
    """The person a token stands for when it may read (the same checks as ``api_user``,
    which reads the HTTP request; a WebSocket has none). Raises ``ApiError`` 401/403."""
    if token.startswith(TOKEN_PREFIX):
        user = await authenticate_token(db, token)
        if user is None:
            raise ApiError(401, "The access token is invalid")
        return user.actor
    access = await oauth.authenticate_access_token(db, token)
    if access is None:
        raise ApiError(401, "The access token is invalid")
    if not oauth.grants(access.scopes, "read:statuses") and not oauth.grants(
        access.scopes, "read:notifications"
    ):
        raise ApiError(403, "This action is outside the authorized scopes")
    return access.user.actor if access.user is not None else None


async def _followed_ids(db: AsyncSession, me: Actor) -> list[int]:
    """The accounts whose posts and boosts reach ``me``'s home: those followed, and the
    tribes ``me`` is a member of (their boosts distribute members' posts)."""
    rows = await db.scalars(
        select(Follow.followed_id)
        .where(Follow.follower_id == me.id, Follow.accepted.is_(True))
        .limit(MAX_AUTHORS)
    )
    tribes = await db.scalars(
        select(Tribe.actor_id)
        .join(TribeMember, TribeMember.tribe_id == Tribe.id)
        .where(TribeMember.actor_id == me.id, TribeMember.state == "active")
    )
    return list(rows.all()) + list(tribes.all())


async def open_stream(
    state: AppState, name: str, token: str, tag: str | None
) -> Stream:
    """Check the token and the stream's name and work out its topics."""
    viewer_id: int | None = None
    async with state.db.session() as db:
        viewer = await _token_viewer(db, token) if token else None
        viewer_id = viewer.id if viewer is not None else None
        if name in USER_STREAMS:
            if viewer is None:
                raise ApiError(401, "Missing access token")
            topics = {f"person:{viewer.id}"}
            if name == "user":
                topics.add(author_topic(viewer.id))
                topics.update(author_topic(i) for i in await _followed_ids(db, viewer))
            return Stream(name, frozenset(topics), viewer_id,
                          notifications_only=name == "user:notification")
    if name in ("public", "public:remote"):
        return Stream(name, frozenset({"public"}), viewer_id, only_remote=name.endswith("remote"))
    if name == "public:local":
        return Stream(name, frozenset({"public:local"}), viewer_id)
    if name in ("hashtag", "hashtag:local"):
        clean = (tag or "").lstrip("#").lower()
        if not clean:
            raise ApiError(400, "No tag for hashtag stream provided")
        return Stream(name, frozenset({hashtag_topic(clean)}), viewer_id, tag=clean,
                      only_local=name.endswith("local"))
    raise ApiError(400, "Unknown stream type")


async def _status_event(
    db: AsyncSession, state: AppState, stream: Stream, viewer: Actor | None,
    message: LiveMessage,
) -> tuple[str, str] | None:
    data = message.data
    item: StatusItem | None = None
    if "object_id" in data:
        note = await db.get(ApObject, int(data["object_id"]))
        if note is not None:
            item = StatusItem(status_ids.NOTE, note=note)
    elif "reaction_id" in data:
        reaction = await db.get(Reaction, int(data["reaction_id"]))
        if reaction is not None:
            note = await db.scalar(select(ApObject).where(ApObject.ap_id == reaction.object_ap_id))
            if note is not None:
                item = StatusItem(status_ids.REBLOG, note=note, reaction=reaction)
    if item is None or item.note is None:
        return None
    if stream.only_local and not item.note.local:
        return None
    if stream.only_remote and item.note.local:
        return None
    if not await may_see(db, viewer, item):
        return None
    entity = await render_status(db, state.settings, viewer, item)
    if entity is None:
        return None
    return "update", json.dumps(entity, separators=(",", ":"))


async def _delete_event(db: AsyncSession, message: LiveMessage) -> tuple[str, str] | None:
    data = message.data
    if "object_id" in data:
        note = await db.get(ApObject, int(data["object_id"]))
        if note is None:
            return None
        return "delete", status_ids.encode(status_ids.NOTE, note.id, note.published)
    if "reaction_id" in data and data.get("created_at"):
        created = datetime.fromisoformat(str(data["created_at"]))
        return "delete", status_ids.encode(status_ids.REBLOG, int(data["reaction_id"]), created)
    return None


async def render_event(
    state: AppState, stream: Stream, message: LiveMessage
) -> tuple[str, str] | None:
    """The Mastodon event (name, payload) for a hub message, or None when this watcher
    gets nothing (not theirs to see, or a kind apps do not know)."""
    if stream.notifications_only and message.kind != "notification":
        return None
    async with state.db.session() as db:
        viewer = await db.get(Actor, stream.viewer_id) if stream.viewer_id else None
        if message.kind == "notification":
            if viewer is None or not message.topic.startswith("person:"):
                return None
            row = await db.get(Notification, int(message.data.get("id", 0) or 0))
            if row is None or row.recipient_id != viewer.id:
                return None
            found = await notification_entities(db, state.settings, viewer, [row])
            if not found:
                return None
            return "notification", json.dumps(found[0], separators=(",", ":"))
        if stream.notifications_only:
            return None
        if message.kind == "status":
            return await _status_event(db, state, stream, viewer, message)
        if message.kind == "delete":
            return await _delete_event(db, message)
    return None


# ---------------------------------------------------------------- server-sent events


def _sse(event: str, payload: str) -> bytes:
    return f"event: {event}\ndata: {payload}\n\n".encode()


def _request_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("access_token", "").strip()


async def _event_stream(name: str) -> Response:
    state = get_state()
    stream = await open_stream(state, name, _request_token(), request.args.get("tag"))
    subscription = hub_of(state).subscribe(stream.topics)

    async def body() -> AsyncIterator[bytes]:
        async with subscription:
            yield b":)\n\n"
            while True:
                message = await subscription.get(HEARTBEAT_SECONDS)
                if message is None:
                    yield b":thump\n\n"
                    continue
                try:
                    event = await render_event(state, stream, message)
                except Exception:  # one bad message must not end the stream
                    log.exception("streaming: cannot render %r", message)
                    continue
                if event is not None:
                    yield _sse(*event)

    response = Response(body(), status=200, content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response


@sse_blueprint.get("/api/v1/streaming/health")
async def health() -> Response:
    """Mastodon's streaming health check: ``OK``."""
    return Response("OK", content_type="text/plain")


@sse_blueprint.get("/api/v1/streaming/user")
async def stream_user() -> Response:
    """The person's home timeline and notifications."""
    return await _event_stream("user")


@sse_blueprint.get("/api/v1/streaming/user/notification")
async def stream_user_notifications() -> Response:
    """The person's notifications only."""
    return await _event_stream("user:notification")


@sse_blueprint.get("/api/v1/streaming/public")
async def stream_public() -> Response:
    """Public posts from everywhere."""
    return await _event_stream("public")


@sse_blueprint.get("/api/v1/streaming/public/local")
async def stream_public_local() -> Response:
    """Public posts from this instance."""
    return await _event_stream("public:local")


@sse_blueprint.get("/api/v1/streaming/public/remote")
async def stream_public_remote() -> Response:
    """Public posts from other servers."""
    return await _event_stream("public:remote")


@sse_blueprint.get("/api/v1/streaming/hashtag")
async def stream_hashtag() -> Response:
    """Public posts with a hashtag (``tag``)."""
    return await _event_stream("hashtag")


@sse_blueprint.get("/api/v1/streaming/hashtag/local")
async def stream_hashtag_local() -> Response:
    """Public posts from this instance with a hashtag (``tag``)."""
    return await _event_stream("hashtag:local")


# ---------------------------------------------------------------- WebSocket


def _socket_token() -> tuple[str, str | None]:
    """The token of a WebSocket and the subprotocol to answer with (when it came there)."""
    header = websocket.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    if websocket.args.get("access_token"):
        return websocket.args["access_token"].strip(), None
    protocol = websocket.headers.get("Sec-WebSocket-Protocol", "").split(",")[0].strip()
    return protocol, protocol or None


async def _pump(
    state: AppState, stream: Stream, subscription: Subscription,
    out: asyncio.Queue[dict[str, Any]],
) -> None:
    async with subscription:
        async for message in subscription:
            try:
                event = await render_event(state, stream, message)
            except Exception:
                log.exception("streaming: cannot render %r", message)
                continue
            if event is not None:
                out.put_nowait({"stream": stream.label, "event": event[0], "payload": event[1]})


@blueprint.websocket("/api/v1/streaming")
@blueprint.websocket("/api/v1/streaming/")
async def streaming_socket() -> None:
    """The WebSocket of the streaming API (see the module notes)."""
    state = get_state()
    token, subprotocol = _socket_token()
    first = websocket.args.get("stream")
    try:
        tag = websocket.args.get("tag")
        streams = [await open_stream(state, first, token, tag)] if first else []
        # Without a stream, the token must still be valid (the socket then waits for
        # subscribe messages).
        if not first and token:
            async with state.db.session() as db:
                await _token_viewer(db, token)
    except ApiError as exc:
        await websocket.accept(subprotocol=subprotocol)
        await websocket.send(json.dumps({"error": exc.message, "status": exc.status}))
        await websocket.close(4000 + exc.status % 1000)
        return
    await websocket.accept(subprotocol=subprotocol)
    out: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
    pumps: dict[tuple[str, str | None], asyncio.Task[None]] = {}
    hub = hub_of(state)

    def start(stream: Stream) -> None:
        key = (stream.name, stream.tag)
        if key not in pumps:
            pumps[key] = asyncio.create_task(
                _pump(state, stream, hub.subscribe(stream.topics), out)
            )

    async def reader() -> None:
        while True:
            raw = await websocket.receive()
            try:
                command = json.loads(raw)
            except (TypeError, ValueError):
                continue
            if not isinstance(command, dict):
                continue
            name = str(command.get("stream") or "")
            tag = command.get("tag")
            if command.get("type") == "subscribe":
                try:
                    start(await open_stream(state, name, token, tag))
                except ApiError as exc:
                    out.put_nowait({"error": exc.message, "status": exc.status})
            elif command.get("type") == "unsubscribe":
                clean = str(tag).lstrip("#").lower() if tag else None
                task = pumps.pop((name, clean), None)
                if task is not None:
                    task.cancel()

    async def writer() -> None:
        while True:
            try:
                item = await asyncio.wait_for(out.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                continue
            await websocket.send(json.dumps(item, separators=(",", ":")))

    for stream in streams:
        start(stream)
    tasks = [asyncio.create_task(reader()), asyncio.create_task(writer())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*tasks, *pumps.values()]:
            task.cancel()
        for task in [*tasks, *pumps.values()]:
            with contextlib.suppress(BaseException):
                await task
