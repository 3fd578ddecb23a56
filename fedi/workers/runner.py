"""The worker loops: inbox processing and delivery, run inside ``fedi serve`` or ``fedi worker``.

Each loop calls its worker's ``run_once`` while there is work, then sleeps until woken (rows
written by this process set an event right after their commit) or for one poll interval
(rows written by other processes: the CLI, other web processes). Stopping lets a running
batch finish for a few seconds, then cancels it; unfinished claims simply expire and are
retried, so nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fedi.federation.runtime import get_federation
from fedi.state import AppState
from fedi.workers.delivery import DeliveryWorker
from fedi.workers.digest import sweep_digests
from fedi.workers.inbox import InboxWorker
from fedi.workers.mail import MailWorker
from fedi.workers.meetup_reminders import sweep_reminders
from fedi.workers.notify_mail import NotificationMailer
from fedi.workers.poll_closer import sweep_polls
from fedi.workers.push import PushWorker

__all__ = ["WorkerRunner"]

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
STOP_GRACE_SECONDS = 5.0
# In-process loops run a batch only when no inbox POST of this process is being answered,
# or once this long has passed: the accept path goes first, the workers never starve.
MAX_YIELD_SECONDS = 0.02


class WorkerRunner:
    """Runs the inbox and delivery loops of one app until ``stop``."""

    def __init__(self, state: AppState, *, poll: float = POLL_SECONDS) -> None:
        """Prepare the loops for ``state``; nothing runs before :meth:`start`."""
        self.state = state
        self.poll = poll
        # The lease must outlast one batch; when a worker dies, its rows become claimable
        # again once the lease has run out (tests shorten it with FEDI_WORKER_LEASE_SECONDS).
        lease = timedelta(seconds=state.settings.worker_lease_seconds)
        self.inbox = InboxWorker(state, lease=lease)
        self.delivery = DeliveryWorker(state, lease=lease)
        # E-mail (issue 12): the mail queue, polled (no wake-up: a mail may wait a second).
        self.mail = MailWorker(state, lease=lease)
        self._mail_wakeup = asyncio.Event()
        # Issue 12: notifications to mail at once become queued mails (polled too).
        self.notify_mail = NotificationMailer(state)
        # Web Push (issue 12): pushes for new notifications, polled like the mail queue.
        self.push = PushWorker(state, lease=lease)
        self._push_wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start both loops as background tasks."""
        wakeup = get_federation(self.state).wakeup
        self._tasks = [
            asyncio.create_task(self._loop("inbox", self._inbox_step, wakeup.inbox)),
            asyncio.create_task(
                self._loop("delivery", self.delivery.run_once, wakeup.delivery)
            ),
            # Polls (issue 15): close those whose time ran out, now and then.
            asyncio.create_task(sweep_polls(self.state, self._stopping)),
            # Meetups (issue 15): the day-before reminders.
            asyncio.create_task(sweep_reminders(self.state, self._stopping)),
            asyncio.create_task(self._loop("mail", self.mail.run_once, self._mail_wakeup)),
            # Issue 12: e-mail at once, and the daily/weekly digests (with tasks due).
            asyncio.create_task(
                self._loop("notification mail", self.notify_mail.run_once, self._mail_wakeup)
            ),
            asyncio.create_task(sweep_digests(self.state, self._stopping)),
            asyncio.create_task(self._loop("push", self.push.run_once, self._push_wakeup)),
        ]

    async def _inbox_step(self) -> int:
        # Items waiting for a slow server are finished in the background meanwhile.
        return await self.inbox.run_once(wait=False)

    async def stop(self) -> None:
        """Stop the loops: let a running batch finish briefly, then cancel."""
        self._stopping.set()
        wakeup = get_federation(self.state).wakeup
        wakeup.inbox.set()
        wakeup.delivery.set()
        self._mail_wakeup.set()
        self._push_wakeup.set()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.inbox.aclose()
        self._tasks = []

    async def wait(self) -> None:
        """Wait until both loops have ended (used by ``fedi worker``)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _let_accepts_go_first(self) -> None:
        """Wait (up to ``MAX_YIELD_SECONDS``) while inbox POSTs are being answered.

        Both loops share the event loop and SQLite's writer turn with the accept path; a
        sender waiting for its 202 matters more than an item processed a few ms sooner.
        """
        wakeup = get_federation(self.state).wakeup
        if not wakeup.accepting:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.accepts_idle.wait(), timeout=MAX_YIELD_SECONDS)

    async def _loop(
        self, name: str, run_once: Callable[[], Awaitable[int]], event: asyncio.Event
    ) -> None:
        while not self._stopping.is_set():
            # Clear before working: a row committed while we work sets it again.
            event.clear()
            try:
                await self._let_accepts_go_first()
                done = await run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s worker failed; retrying in %.0f s", name, self.poll)
                done = 0
            if done:
                await asyncio.sleep(0)  # let the web requests in between batches
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=self.poll)
