"""An in-process cache of our actor documents (``Person``, ``Group``, the instance actor).

Every remote server that sees one of our people or tribes fetches the actor document, and
fetches it again whenever it verifies a signature with a key it does not hold. Building it
costs a database session and a few queries; serving it from memory costs nothing. The
cache holds the serialised JSON bytes per document.

Freshness:

* a change made in this process (profile edit, talents, avatar, key, tribe settings, an
  account disabled) is seen through ``fedi.db_changes`` when its transaction commits, and
  the documents of the actors it touched are dropped at once;
* a change made by another process on the same database (a ``fedi`` CLI command, a
  separate ``fedi worker``) is not seen; entries therefore live at most ``TTL_SECONDS``
  (30 s), which bounds how long a remote server may get the old document from us.

A document built from rows read *before* a change committed must not be stored *after* the
change dropped it: ``put`` takes the generation read before the database was asked and
refuses to store when any invalidation happened in between.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from fedi.db_changes import Changes, watch
from fedi.domain.names import normalise_name
from fedi.state import AppState, Slot

TTL_SECONDS = 30.0
MAX_ENTRIES = 4096
INSTANCE_KEY = "instance"

Builder = Callable[[], Awaitable[tuple[int, dict[str, Any]] | None]]


class DocumentCache:
    """Serialised documents by key, each tied to the actor whose rows it shows."""

    def __init__(
        self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        # Bumped by every invalidation; see ``put``.
        self.generation = 0
        self._entries: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._by_actor: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> bytes | None:
        """The stored document, or None when missing or older than the TTL."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, _actor_id, body = entry
        if expires <= self.clock():
            self._drop(key)
            return None
        return body

    def put(self, key: str, actor_id: int, body: bytes, generation: int) -> None:
        """Store ``body`` unless an invalidation happened since ``generation`` was read."""
        if generation != self.generation:
            return
        self._drop(key)
        self._entries[key] = (self.clock() + self.ttl, actor_id, body)
        self._by_actor.setdefault(actor_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def forget_actor(self, actor_id: int) -> None:
        """Drop every document showing ``actor_id``."""
        self.generation += 1
        for key in list(self._by_actor.get(actor_id, ())):
            self._drop(key)

    def clear(self) -> None:
        """Drop everything."""
        self.generation += 1
        self._entries.clear()
        self._by_actor.clear()

    def on_changes(self, changes: Changes) -> None:
        """Called after a commit in this process (``fedi.db_changes``)."""
        if changes.all_actors:
            self.clear()
            return
        for actor_id in changes.actor_ids:
            self.forget_actor(actor_id)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            keys = self._by_actor.get(entry[1])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_actor[entry[1]]


def person_key(username: str) -> str:
    """The cache key of a person's document (names are case-insensitive)."""
    return "person:" + normalise_name(username)


def group_key(slug: str) -> str:
    """The cache key of a tribe's ``Group`` document."""
    return "group:" + normalise_name(slug)


def key_for_path(path: str) -> str | None:
    """The cache key of the actor document whose id is ``path`` (``/users/<name>``,
    ``/tribes/<slug>``, ``/actor``), or None for any other path."""
    if path == "/actor":
        return INSTANCE_KEY
    prefix, _slash, name = path[1:].partition("/")
    if not name or "/" in name:
        return None
    if prefix == "users":
        return person_key(name)
    if prefix == "tribes":
        return group_key(name)
    return None


DOCUMENT_CACHE: Slot[DocumentCache] = Slot("document_cache")


def document_cache(state: AppState) -> DocumentCache:
    """The app's document cache (made, and registered for change notices, on first use)."""
    cache = state.get(DOCUMENT_CACHE)
    if cache is None:
        cache = DocumentCache()
        state.put(DOCUMENT_CACHE, cache)
        watch(state.db.engine, cache)
    return cache


async def cached_document(state: AppState, key: str, build: Builder) -> bytes | None:
    """The serialised document under ``key``, built by ``build`` when not cached.

    ``build`` returns ``(actor id, document)``, or None when there is no such document
    (None is not cached: a 404 stays cheap enough, and caching it would need its own
    invalidation when the name is taken).
    """
    cache = document_cache(state)
    body = cache.get(key)
    if body is not None:
        return body
    generation = cache.generation
    built = await build()
    if built is None:
        return None
    actor_id, document = built
    body = orjson.dumps(document)
    cache.put(key, actor_id, body, generation)
    return body
