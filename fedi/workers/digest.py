"""The periodic sweep for digest mails and due tasks, beside the other worker loops.

Every ``SWEEP_SECONDS`` it tells helpers of tasks due tomorrow
(``fedi.domain.notify_tasks``) and queues the digest mail of each person whose daily or
weekly period has ended (``fedi.domain.notify_digest``), one transaction per person so one
failure stops nobody else's digest. What was mailed is recorded per person in the database,
so a restart neither repeats nor skips a period; with several worker processes the one that
moves a person's ``digest_sent_until`` first sends that digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from fedi.domain.notify_digest import digest_candidates, send_digest
from fedi.domain.notify_tasks import notify_due_tasks
from fedi.state import AppState
from models import utcnow

__all__ = ["SWEEP_SECONDS", "sweep_digests", "sweep_once"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 300.0


async def sweep_once(state: AppState, now: datetime | None = None) -> int:
    """Tell about due tasks and queue the due digests at ``now``; how many digests."""
    now = now or utcnow()
    async with state.db.session() as db:
        await notify_due_tasks(db, now)
    async with state.db.session() as db:
        people = await digest_candidates(db, now)
    queued = 0
    for actor_id in people:
        try:
            async with state.db.session() as db:
                if await send_digest(db, state.settings, actor_id, now) is not None:
                    queued += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # A race with another worker process on the first digest, or a broken row:
            # the next sweep tries again.
            log.exception("digest for actor %s failed", actor_id)
    return queued


async def sweep_digests(
    state: AppState, stopping: asyncio.Event, every: float = SWEEP_SECONDS
) -> None:
    """Run :func:`sweep_once` every ``every`` seconds until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            await sweep_once(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the digest sweep failed; retrying in %.0f s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every)
