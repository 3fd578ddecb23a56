"""The live hub: committed changes, told to the pages and apps that are watching right now.

A live web page (server-sent events) or a Mastodon app (the streaming API) subscribes to
*topics*; the code that turns domain events into live messages calls :func:`queue` inside
the transaction that made the change. Queued messages wait on the session and are handed
to the hub only after that session commits, and are dropped when it rolls back: nobody is
told about a change that did not happen.

Topics name what a watcher may see, so the HTTP layer can check permissions once, when it
subscribes:

* ``initiative:<id>``: an initiative's page (messages, comments, tasks, offers, progress);
* ``tribe:<actor id>``: a tribe's pages;
* ``person:<local actor id>``: one person's notifications and home timeline;
* ``public`` and ``public:local``: public posts, from anywhere and from this instance.

A hub belongs to one app's database engine. Writes made by another process (``fedi worker``,
a second ``fedi serve``) reach it only through a *bridge* (:meth:`LiveHub.set_bridge`): on
PostgreSQL, ``LISTEN``/``NOTIFY`` carries every message to every process, including the one
that sent it, so with a bridge the hub delivers what comes back from the bridge and nothing
directly. Without one (the embedded SQLite default, one process) messages go straight to
the subscribers of this process.

Live messages are a courtesy, not a record: a subscriber that falls too far behind loses
the oldest messages (and is told so with an ``overflow`` message), and a page that missed
something shows it on the next load.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fedi.state import AppState, Slot
from models import Notification

__all__ = [
    "LiveBridge",
    "LiveHub",
    "LiveMessage",
    "Subscription",
    "hub_of",
    "queue",
]

log = logging.getLogger(__name__)

_INFO_KEY = "fedi_live_messages"
# Per subscriber: enough for a burst of changes on a busy initiative, small enough that a
# stalled browser cannot hold much memory.
DEFAULT_MAX_QUEUED = 256


@dataclass(frozen=True)
class LiveMessage:
    """One thing that changed: where (``topic``), what (``kind``) and the ids it concerns.

    ``data`` is JSON-able and small (ids and kinds, not rendered content): the receiver
    reads what it may show from the database, with the viewer's permissions.
    """

    topic: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class LiveBridge(Protocol):
    """Carries messages between processes (PostgreSQL ``NOTIFY``)."""

    def send(self, message: LiveMessage) -> None:
        """Send ``message`` to every process, this one included (must not block)."""


class Subscription:
    """What one watcher receives: messages of its topics, in order, until it closes.

    Use as an async context manager and iterate: ``async with hub.subscribe(t) as sub:
    async for message in sub: ...``.
    """

    def __init__(self, hub: LiveHub, topics: frozenset[str], max_queued: int) -> None:
        """Subscribe to ``topics`` on ``hub`` (done by :meth:`LiveHub.subscribe`)."""
        self.hub = hub
        self.topics = topics
        self._queue: asyncio.Queue[LiveMessage] = asyncio.Queue(maxsize=max_queued)
        self.closed = False

    def offer(self, message: LiveMessage) -> None:
        """Queue ``message``; when full, drop the oldest and tell the watcher it lost some."""
        if self.closed:
            return
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(LiveMessage(message.topic, "overflow", {}))
        self._queue.put_nowait(message)

    async def get(self, within: float | None = None) -> LiveMessage | None:
        """The next message, or None after ``within`` seconds without one (None: wait)."""
        if within is None:
            return await self._queue.get()
        try:
            return await asyncio.wait_for(self._queue.get(), within)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        if not self.closed:
            self.closed = True
            self.hub._remove(self)

    async def __aenter__(self) -> Subscription:
        """Start receiving (subscribing already did)."""
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        """Stop receiving."""
        self.close()

    def __aiter__(self) -> AsyncIterator[LiveMessage]:
        """Iterate over messages as they come, forever (until the task is cancelled)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[LiveMessage]:
        while not self.closed:
            yield await self._queue.get()


class LiveHub:
    """The subscribers of one app, by topic."""

    def __init__(self) -> None:
        """An empty hub with no bridge."""
        self._by_topic: dict[str, set[Subscription]] = {}
        self.bridge: LiveBridge | None = None

    def subscribe(
        self, topics: Iterable[str], *, max_queued: int = DEFAULT_MAX_QUEUED
    ) -> Subscription:
        """A new subscription to ``topics`` (the caller has checked the viewer may see them)."""
        subscription = Subscription(self, frozenset(topics), max_queued)
        for topic in subscription.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            watchers = self._by_topic.get(topic)
            if watchers is not None:
                watchers.discard(subscription)
                if not watchers:
                    del self._by_topic[topic]

    def subscriber_count(self, topic: str | None = None) -> int:
        """How many subscriptions watch ``topic`` (or any topic)."""
        if topic is not None:
            return len(self._by_topic.get(topic, ()))
        return len({s for watchers in self._by_topic.values() for s in watchers})

    def set_bridge(self, bridge: LiveBridge | None) -> None:
        """Route published messages through ``bridge`` (None: deliver in this process)."""
        self.bridge = bridge

    def publish(self, message: LiveMessage) -> None:
        """Publish a committed change: through the bridge when there is one, else locally."""
        if self.bridge is not None:
            try:
                self.bridge.send(message)
                return
            except Exception:  # a broken bridge must not lose the local watchers too
                log.exception("live bridge failed; delivering in this process only")
        self.deliver_local(message)

    def deliver_local(self, message: LiveMessage) -> None:
        """Hand ``message`` to this process's subscribers of its topic (the bridge calls this)."""
        for subscription in list(self._by_topic.get(message.topic, ())):
            subscription.offer(message)


LIVE_HUB: Slot[LiveHub] = Slot("live_hub")

# Hubs by the sync engine their app's sessions are bound to: a commit finds its hubs here.
_hubs_by_engine: weakref.WeakKeyDictionary[Any, weakref.WeakSet[LiveHub]] = (
    weakref.WeakKeyDictionary()
)


def hub_of(state: AppState) -> LiveHub:
    """The live hub of this app (made on first use and bound to its database engine)."""
    hub = state.get(LIVE_HUB)
    if hub is None:
        hub = LiveHub()
        state.put(LIVE_HUB, hub)
        engine = state.db.engine.sync_engine
        _hubs_by_engine.setdefault(engine, weakref.WeakSet()).add(hub)
    return hub


def queue(db: AsyncSession, message: LiveMessage) -> None:
    """Publish ``message`` once ``db``'s transaction commits (forgotten if it rolls back)."""
    db.info.setdefault(_INFO_KEY, []).append(message)


def _hubs_for(session: Session) -> list[LiveHub]:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    return list(_hubs_by_engine.get(engine, ()))


@event.listens_for(Session, "after_flush")
def _notifications_are_live(session: Session, _context: Any) -> None:
    """Every new notification is told to its recipient's live pages and apps."""
    if not _hubs_by_engine:
        return
    for obj in session.new:
        if isinstance(obj, Notification):
            messages = session.info.setdefault(_INFO_KEY, [])
            messages.append(
                LiveMessage(
                    f"person:{obj.recipient_id}", "notification",
                    {"id": obj.id, "kind": obj.kind},
                )
            )


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    messages: list[LiveMessage] | None = session.info.pop(_INFO_KEY, None)
    if not messages:
        return
    hubs = _hubs_for(session)
    if not hubs:
        return
    bridged = next((hub for hub in hubs if hub.bridge is not None), None)
    for message in messages:
        if bridged is not None:
            # One NOTIFY reaches every hub on this database, in every process.
            bridged.publish(message)
            for hub in hubs:
                if hub.bridge is None:
                    hub.deliver_local(message)
        else:
            for hub in hubs:
                hub.deliver_local(message)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)
