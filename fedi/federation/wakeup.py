"""Waking the in-process workers right after a transaction that queued work commits.

The events live on the app's session factory (``session.info``), not in module globals, so
two apps in one process wake only their own workers. Without a waiting worker (the CLI, a
separate ``fedi worker`` process) nothing is attached and the workers' 1 s poll finds the rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

INFO_KEY = "fedi_wakeup"
_PENDING_KEY = "fedi_wakeup_pending"


@dataclass
class Wakeup:
    """One event per queue; a worker loop waits on its event (or a poll timeout)."""

    inbox: asyncio.Event = field(default_factory=asyncio.Event)
    delivery: asyncio.Event = field(default_factory=asyncio.Event)
    # Inbox POSTs of this process being answered right now, and an event set while there
    # are none: in-process worker loops let them go first (fedi.workers.runner).
    accepting: int = 0
    accepts_idle: asyncio.Event = field(default_factory=asyncio.Event)

    def accept_started(self) -> None:
        """An inbox POST is being answered."""
        self.accepting += 1
        self.accepts_idle.clear()

    def accept_finished(self) -> None:
        """An inbox POST has been answered."""
        self.accepting -= 1
        if self.accepting <= 0:
            self.accepting = 0
            self.accepts_idle.set()


def attach(sessions: async_sessionmaker[AsyncSession], wakeup: Wakeup) -> None:
    """Make every session from ``sessions`` carry ``wakeup`` in its ``info``."""
    sessions.configure(info={INFO_KEY: wakeup})


def wake_after_commit(db: AsyncSession, *, inbox: bool = False, delivery: bool = False) -> None:
    """Set the matching events once the session's current transaction commits."""
    wakeup = db.info.get(INFO_KEY)
    if not isinstance(wakeup, Wakeup):
        return
    pending: set[str] = db.info.setdefault(_PENDING_KEY, set())
    first = not pending
    if inbox:
        pending.add("inbox")
    if delivery:
        pending.add("delivery")
    if first and pending:
        event.listen(db.sync_session, "after_commit", _fire, once=True)


def _fire(session: object) -> None:
    info = getattr(session, "info", {})
    wakeup = info.get(INFO_KEY)
    pending = info.pop(_PENDING_KEY, set())
    if isinstance(wakeup, Wakeup):
        if "inbox" in pending:
            wakeup.inbox.set()
        if "delivery" in pending:
            wakeup.delivery.set()
