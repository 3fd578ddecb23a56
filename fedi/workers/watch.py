"""Waking a separate ``fedi worker`` as soon as ``fedi serve`` queues rows for it.

A commit in the worker's own process wakes its loops directly; rows committed by another
process would otherwise wait for the runner's next poll (up to a second).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select

from fedi.state import AppState

__all__ = ["WATCH_SECONDS", "watch_new_rows"]

log = logging.getLogger(__name__)

# How often a separate ``fedi worker`` looks for rows another process just queued.
WATCH_SECONDS = 0.05


async def watch_new_rows(
    state: AppState,
    wake: asyncio.Event,
    interval: float = WATCH_SECONDS,
    *,
    model: Any,
) -> None:
    """Set ``wake`` whenever another process has queued rows of ``model`` (until cancelled).

    Used for both queues: deliveries, and inbox items that ``fedi serve`` accepted.

    A commit in this process wakes its workers directly; rows committed by ``fedi serve``
    reach a separate ``fedi worker`` only at its next poll (up to a second later). Watching
    the newest row id is one indexed read (no write, no lock) per ``interval``, and it fires
    once per batch of new rows: rows that merely wait (backoff, paused domains) never do.
    """
    newest: int | None = None  # unknown until the first read
    while True:
        try:
            async with state.db.session() as db:
                current = await db.scalar(select(func.max(model.id))) or 0
        except Exception:  # the database restarting must not end the watch
            log.warning("watching for new %s rows failed", model.__name__, exc_info=True)
            await asyncio.sleep(1.0)
            continue
        if newest is not None and current > newest:
            wake.set()
        newest = current  # may go down when old rows are deleted
        await asyncio.sleep(interval)
