"""The periodic sweep that closes polls whose time has run out (issue 15).

Polls are closed lazily whenever one is read (``fedi.domain.polls.ensure_closed``); this
sweep makes sure the final ``Update{Question}`` goes out, and a closed poll about an
initiative enters its history, even when nobody looks. It runs beside the inbox and
delivery loops (``fedi.workers.runner``) every ``SWEEP_SECONDS``; with several worker
processes each sweeps, and closing is idempotent (a closed poll is skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fedi.domain.polls import close_due_polls
from fedi.state import AppState

__all__ = ["SWEEP_SECONDS", "close_polls_once", "sweep_polls"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0


async def close_polls_once(state: AppState) -> int:
    """Close every poll of ours that is due now; how many were closed."""
    async with state.db.session() as db:
        # The Update{Question} rows wake the delivery loop on commit (``publish``).
        return await close_due_polls(db, state.settings)


async def sweep_polls(
    state: AppState, stopping: asyncio.Event, every: float = SWEEP_SECONDS
) -> None:
    """Close due polls every ``every`` seconds until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            await close_polls_once(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("closing due polls failed; retrying in %.0f s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every)
