"""The periodic sweep that reminds participants of meetups starting within a day (issue 15).

It runs beside the inbox and delivery loops (``fedi.workers.runner``) every
``SWEEP_SECONDS`` and hands the work to ``fedi.domain.meetups.send_reminders``, which
notifies each local participant once per meetup (in-app notifications, kind
``meetup_reminder``). With several worker processes each sweeps; a meetup is marked
reminded in the same transaction, so a race costs at most a duplicate notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fedi.domain.meetups import send_reminders
from fedi.state import AppState

__all__ = ["SWEEP_SECONDS", "remind_once", "sweep_reminders"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 300.0


async def remind_once(state: AppState) -> int:
    """Send the reminders that are due now; how many meetups were reminded."""
    async with state.db.session() as db:
        return await send_reminders(db)


async def sweep_reminders(
    state: AppState, stopping: asyncio.Event, every: float = SWEEP_SECONDS
) -> None:
    """Send due reminders every ``every`` seconds until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            await remind_once(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sending meetup reminders failed; retrying in %.0f s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every)
