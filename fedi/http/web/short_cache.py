"""Small answers the pages of logged-in people ask for on every view, kept for a few seconds.

A member's tribe page asks "how many of this tribe's initiatives may I see?" (a count over
all of them) and "is an e-mail invitation waiting for my address?" on every view, and the
answers hardly ever change. They (and the tribe's header numbers, ``fedi.http.web.cache``)
are kept per process:

* a commit in this process that changes anything shown on pages (``fedi.db_changes``) empties
  every such cache at once, so a person's own action (or another visitor's on this server)
  shows on their next page;
* an answer computed while such a commit happened is not kept (the generation check);
* changes made by another process (``fedi worker``, the CLI) show within ``TTL_SECONDS``.

Nothing here decides who may see what: the answers are the domain's, computed for the key
given (which names the viewer where the answer depends on them).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from fedi.db_changes import Changes, watch
from fedi.state import Slot, get_state

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

TTL_SECONDS = 10.0
MAX_ENTRIES = 4096


class ShortCache(Generic[K, V]):
    """Answers by key for ``ttl`` seconds, all forgotten after a change shown on pages."""

    def __init__(
        self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """An empty cache; ``clock`` is replaceable for tests."""
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.generation = 0
        self.entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[V] | None:
        """``(answer,)`` if it was computed less than ``ttl`` ago, else None (an answer may
        itself be falsy: no initiatives, no invitations)."""
        entry = self.entries.get(key)
        if entry is None or entry[0] <= self.clock():
            return None
        return (entry[1],)

    def put(self, key: K, value: V, generation: int) -> None:
        """Keep ``value`` unless a change committed since ``generation`` was read."""
        if generation != self.generation:
            return
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = (self.clock() + self.ttl, value)

    def on_changes(self, changes: Changes) -> None:
        """Called after a commit in this process (``fedi.db_changes``)."""
        if changes.content:
            self.generation += 1
            self.entries.clear()


def short_cache(slot: Slot[ShortCache[K, V]]) -> ShortCache[K, V]:
    """The app's cache in ``slot``, made (and told about commits) on first use."""
    state = get_state()
    cache = state.get(slot)
    if cache is None:
        cache = ShortCache()
        state.put(slot, cache)
        watch(state.db.engine, cache)
    return cache


async def remembered(
    slot: Slot[ShortCache[K, V]], key: K, compute: Callable[[], Awaitable[V]]
) -> V:
    """The answer for ``key`` from the cache in ``slot``, computed (and kept) when missing."""
    cache = short_cache(slot)
    found = cache.get(key)
    if found is not None:
        return found[0]
    generation = cache.generation
    value = await compute()
    cache.put(key, value, generation)
    return value
