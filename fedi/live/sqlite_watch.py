"""On SQLite, changes another process committed, told to this process's live pages.

SQLite has no ``NOTIFY``. By default ``fedi serve`` keeps a ``fedi worker`` child beside
itself (``fedi.cli.worker_child``) and that child applies what other servers send: a remote
person's comment on an initiative is committed there, where no page listens. With
``FEDI_WEB_PROCESSES`` above 1, a comment posted through one serving process must reach the
pages watching through the others in the same way. This watcher, in each serving process,
reads the newest ids of the rows every such change writes (history
entries, comments, notifications, posts and boosts) a few times a second, and turns rows it
did not write itself into the live messages ``fedi.live.initiatives`` and
``fedi.live.statuses`` would have sent: ``message``, ``comment``, ``task``, ``offer``,
``people`` (with ``progress``), ``notification`` and ``status`` (a post from another server
reaches the apps' streaming timelines). Deletions made by another process are not watched:
an app learns of them when it reloads, as after any missed message.

One indexed read per poll, no write and no lock; rows this process flushed are recognised by
id and skipped (their messages went out when they committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections import deque
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from fedi.domain.notes import NOTE_TYPES
from fedi.live.hub import LiveHub, LiveMessage, hub_of
from fedi.live.initiatives import initiative_topic
from fedi.live.statuses import author_topic, post_topics
from fedi.state import AppState, FediApp, Slot
from models import ApObject, Comment, InitiativeUpdate, Notification, Reaction

__all__ = ["POLL_SECONDS", "RowWatcher", "install", "messages_for_update", "watchers_of"]

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
# Rows read per poll at most: a burst beyond it is caught up over the next polls.
BATCH = 200
_REMEMBERED = 5000

_WATCHED = (InitiativeUpdate, Comment, Notification, ApObject, Reaction)
# Set in the worker child's environment by ``fedi serve`` (``fedi.cli.worker_child``, a layer
# above this one, so the name is repeated here).
WORKER_CHILD_ENV = "FEDI_WORKER_PARENT_PID"


class _OwnRows:
    """Ids of watched rows flushed in this process (bounded), per table."""

    def __init__(self) -> None:
        self.ids: dict[type[Any], set[int]] = {model: set() for model in _WATCHED}
        self.order: deque[tuple[type[Any], int]] = deque()

    def add(self, model: type[Any], row_id: int) -> None:
        self.ids[model].add(row_id)
        self.order.append((model, row_id))
        while len(self.order) > _REMEMBERED:
            old_model, old_id = self.order.popleft()
            self.ids[old_model].discard(old_id)

    def mine(self, model: type[Any], row_id: int) -> bool:
        return row_id in self.ids[model]


# By sync engine, as the hub keeps its hubs: a flush finds the rows' owner here.
_own_by_engine: weakref.WeakKeyDictionary[Any, _OwnRows] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "after_flush")
def _remember_own_rows(session: Session, _context: Any) -> None:
    if not _own_by_engine:
        return
    bind = session.get_bind()
    own = _own_by_engine.get(getattr(bind, "engine", bind))
    if own is None:
        return
    for obj in session.new:
        if isinstance(obj, _WATCHED) and isinstance(obj.id, int):
            own.add(type(obj), obj.id)


def messages_for_update(
    entry_kind: str, initiative_id: int, data: dict[str, Any]
) -> list[LiveMessage]:
    """The live messages of a history entry written by another process."""
    topic = initiative_topic(initiative_id)
    if entry_kind == "message":
        return [LiveMessage(topic, "message", data)]
    if entry_kind.startswith("task_"):
        kind = "task"
    elif entry_kind.startswith("contribution_") or entry_kind == "rated":
        kind = "offer"
    elif entry_kind.startswith(("partner_", "supporter_")):
        kind = "people"
    else:
        return [LiveMessage(topic, "initiative", {"change": entry_kind})]
    return [LiveMessage(topic, kind, {"change": entry_kind, **data}),
            LiveMessage(topic, "progress", {})]


class RowWatcher:
    """Polls the watched tables and publishes what other processes wrote."""

    def __init__(self, state: AppState, hub: LiveHub) -> None:
        """Watch ``state``'s database for ``hub`` (not started)."""
        self.state = state
        self.hub = hub
        self.own = _OwnRows()
        self.newest: dict[type[Any], int] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Register this process's flushes and start polling."""
        _own_by_engine[self.state.db.engine.sync_engine] = self.own
        self._task = asyncio.create_task(self._run(), name="live-sqlite-watch")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # the database being busy must not end the watch
                log.warning("live: watching for other processes' rows failed", exc_info=True)
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self) -> int:
        """One look; returns how many messages were published."""
        async with self.state.db.session() as db:
            row = (await db.execute(select(*(
                select(func.coalesce(func.max(model.id), 0)).scalar_subquery()
                for model in _WATCHED
            )))).one()
            current = {model: int(value) for model, value in zip(_WATCHED, row, strict=True)}
            if self.newest is None:  # the first look only learns where we are
                self.newest = current
                return 0
            messages: list[LiveMessage] = []
            if current[InitiativeUpdate] > self.newest[InitiativeUpdate]:
                rows = await db.execute(
                    select(InitiativeUpdate.id, InitiativeUpdate.kind,
                           InitiativeUpdate.initiative_id, InitiativeUpdate.task_id)
                    .where(InitiativeUpdate.id > self.newest[InitiativeUpdate])
                    .order_by(InitiativeUpdate.id).limit(BATCH)
                )
                for row_id, kind, initiative_id, task_id in rows.all():
                    self.newest[InitiativeUpdate] = row_id
                    if not self.own.mine(InitiativeUpdate, row_id):
                        data = (
                            {"update_id": row_id} if kind == "message" else {"task_id": task_id}
                        )
                        messages.extend(messages_for_update(kind, initiative_id, data))
            if current[Comment] > self.newest[Comment]:
                comments = await db.execute(
                    select(Comment.id, Comment.initiative_id, Comment.update_id, Comment.task_id)
                    .where(Comment.id > self.newest[Comment])
                    .order_by(Comment.id).limit(BATCH)
                )
                for comment_id, on_initiative, update_id, on_task in comments.all():
                    self.newest[Comment] = comment_id
                    if not self.own.mine(Comment, comment_id):
                        messages.append(LiveMessage(initiative_topic(on_initiative), "comment", {
                            "comment_id": comment_id, "update_id": update_id, "task_id": on_task,
                            "change": "added",
                        }))
            if current[Notification] > self.newest[Notification]:
                notes = await db.execute(
                    select(Notification.id, Notification.recipient_id, Notification.kind)
                    .where(Notification.id > self.newest[Notification])
                    .order_by(Notification.id).limit(BATCH)
                )
                for note_id, recipient_id, note_kind in notes.all():
                    self.newest[Notification] = note_id
                    if not self.own.mine(Notification, note_id):
                        messages.append(LiveMessage(
                            f"person:{recipient_id}", "notification",
                            {"id": note_id, "kind": note_kind},
                        ))
            messages.extend(await self._statuses(db, current))
        for message in messages:
            self.hub.deliver_local(message)
        return len(messages)

    async def _statuses(self, db: Any, current: dict[type[Any], int]) -> list[LiveMessage]:
        """Posts and boosts another process stored since the last look."""
        assert self.newest is not None
        messages: list[LiveMessage] = []
        if current[ApObject] > self.newest[ApObject]:
            posts = await db.scalars(
                select(ApObject)
                .where(ApObject.id > self.newest[ApObject])
                .order_by(ApObject.id).limit(BATCH)
            )
            for post in posts.all():
                self.newest[ApObject] = post.id
                if (
                    not self.own.mine(ApObject, post.id)
                    and post.type in NOTE_TYPES and post.deleted_at is None
                ):
                    messages.extend(
                        LiveMessage(topic, "status", {"object_id": post.id})
                        for topic in post_topics(post)
                    )
        if current[Reaction] > self.newest[Reaction]:
            boosts = await db.execute(
                select(Reaction.id, Reaction.actor_id, Reaction.kind)
                .where(Reaction.id > self.newest[Reaction])
                .order_by(Reaction.id).limit(BATCH)
            )
            for reaction_id, actor_id, kind in boosts.all():
                self.newest[Reaction] = reaction_id
                if kind == "Announce" and not self.own.mine(Reaction, reaction_id):
                    messages.append(LiveMessage(
                        author_topic(actor_id), "status", {"reaction_id": reaction_id}
                    ))
        return messages


def install(state: AppState) -> None:
    """Watch for other processes' rows when this app serves SQLite with a worker process
    or other serving processes beside it (``FEDI_WEB_PROCESSES``: a comment posted through
    one reaches the pages watching through another). PostgreSQL has the ``NOTIFY`` bridge
    instead."""
    settings = state.settings
    if not state.db.is_sqlite or not (settings.worker_process or settings.web_processes > 1):
        return
    if os.environ.get(WORKER_CHILD_ENV):
        return  # this is the worker child itself: nobody watches pages here

    async def start(_app: FediApp) -> None:
        watcher = RowWatcher(state, hub_of(state))
        watcher.start()
        state.put(ROW_WATCHER, watcher)

    async def stop(_app: FediApp) -> None:
        watcher = state.get(ROW_WATCHER)
        state.put(ROW_WATCHER, None)
        if watcher is not None:
            await watcher.stop()

    state.startup_hooks.append(start)
    state.shutdown_hooks.append(stop)


ROW_WATCHER: Slot[RowWatcher] = Slot("live_row_watcher")


def watchers_of(state: AppState) -> list[RowWatcher]:
    """The running watcher of this app, if it has one (a list: none or one)."""
    watcher = state.get(ROW_WATCHER)
    return [] if watcher is None else [watcher]
