"""The one ``inReplyTo`` walker: from a reply up to the first post we know.

A Mastodon reply often answers a reply we never saw, so finding the thread (a tribe post, an
initiative, its comments) means walking ``inReplyTo`` up through documents fetched from their
origins. The tribe and initiative receivers and the inbox worker's prepare step all walk the
same way; only what counts as "found" and how a parent is read differ, so both are passed in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["MAX_THREAD_DEPTH", "walk_in_reply_to"]

# How many parents are fetched at most before giving up (each one is a remote GET).
MAX_THREAD_DEPTH = 8

T = TypeVar("T")


async def walk_in_reply_to(
    start: str | None,
    found: Callable[[str], Awaitable[T | None]],
    parent_of: Callable[[str], Awaitable[str | None]],
    *,
    is_local: Callable[[str], bool] | None = None,
    max_depth: int = MAX_THREAD_DEPTH,
) -> T | None:
    """Walk up from ``start``: the first ``found(id)`` that is not None, or None.

    ``parent_of(id)`` reads the document ``id`` (stored or fetched) and returns its
    ``inReplyTo`` id, or None when there is none or it cannot be read. An id for which
    ``is_local`` is true and that ``found`` does not know ends the walk: nobody else can tell
    us about our own posts. Loops and chains longer than ``max_depth`` end it too.
    """
    current = start
    seen: set[str] = set()
    for _step in range(max_depth):
        if not current or current in seen:
            return None
        seen.add(current)
        hit = await found(current)
        if hit is not None:
            return hit
        if is_local is not None and is_local(current):
            return None
        current = await parent_of(current)
    return None
