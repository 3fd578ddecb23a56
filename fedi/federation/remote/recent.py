"""Remote documents the inbox worker fetched a moment ago for thread walks, shared by items.

Replies come in bursts: ten people answer the same post within a minute, and the worker
prepares their items side by side, each walking ``inReplyTo`` up to that same parent we do
not store yet. Without sharing, each item would GET the parent (and its author) again.
:class:`RecentDocuments` joins concurrent GETs of one URL and keeps a successful answer for
a short while (bounded in size and age), so a burst costs one GET per parent.

Only public documents fetched by the instance actor for thread walks go through it (every
item would be given the same answer), failures are never kept (the next item tries again),
and each item gets its own copy, so no handler can change what another item reads. One
instance belongs to one worker: nothing is shared across apps or tests.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from activitypub.fetcher import FetchError

__all__ = ["RECENT_SIZE", "RECENT_TTL", "RecentDocuments"]

# Enough for the parents of a busy minute; each entry is one small JSON document.
RECENT_SIZE = 512
# Short: a parent edited meanwhile is read again soon (and stored parents are not walked).
RECENT_TTL = 300.0

Result = dict[str, Any] | FetchError


class RecentDocuments:
    """A small LRU of recently fetched documents, with concurrent fetches of a URL joined."""

    def __init__(self, size: int = RECENT_SIZE, ttl: float = RECENT_TTL) -> None:
        """Keep at most ``size`` documents, each for ``ttl`` seconds."""
        self.size = size
        self.ttl = ttl
        self._kept: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Result]] = {}

    def _fresh(self, url: str) -> dict[str, Any] | None:
        entry = self._kept.get(url)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._kept[url]
            return None
        self._kept.move_to_end(url)
        return entry[1]

    async def fetch(self, url: str, load: Callable[[], Awaitable[Result]]) -> Result:
        """The document at ``url``: kept, being fetched by another item, or ``load()``-ed.

        ``load`` returns the document or the ``FetchError`` fetching it gave. What is
        returned is the caller's own copy.
        """
        kept = self._fresh(url)
        if kept is not None:
            return copy.deepcopy(kept)
        pending = self._pending.get(url)
        if pending is not None:
            # wait() never raises what the other item's fetch raised (or its cancellation).
            await asyncio.wait({pending})
            if not pending.cancelled() and pending.exception() is None:
                shared = pending.result()
                return copy.deepcopy(shared) if isinstance(shared, dict) else shared
            return await load()
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending[url] = future
        try:
            result = await load()
        except BaseException:
            # Whoever waits on this URL fetches it itself rather than sharing a crash.
            future.cancel()
            raise
        finally:
            self._pending.pop(url, None)
        if isinstance(result, dict):
            self._kept[url] = (time.monotonic() + self.ttl, copy.deepcopy(result))
            self._kept.move_to_end(url)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        future.set_result(result)
        return result
