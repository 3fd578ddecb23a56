"""Group commit for the inbox: many accepted activities stored in one transaction.

Committing every POST on its own caps the inbox at the database's commit rate, and giving
every request its own session churns the connection pool (see BENCHMARKS.md). So the two
database steps of the accept path are grouped across concurrent requests:

- ``blocked(hosts)``: the domain-block lookups of all waiting requests in one ``SELECT``;
- ``store(row)``: their ``InboxItem`` rows in one ``INSERT ... ON CONFLICT DO NOTHING`` and
  one commit.

Each request still waits for *its own* answer: a 202 is sent only after the row is durably
committed, so nothing acknowledged can be lost, and a block added a moment ago is seen by
the next lookup (nothing is cached). There is no timer: while one batch runs, the next
requests queue up and form the next batch, so a lone request goes through at once and a busy
inbox gets bigger batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.db import Database
from fedi.dbutil import insert_ignore
from fedi.domain.blocks import blocked_hosts
from fedi.state import AppState, Slot
from models import InboxItem

__all__ = ["Grouped", "InboxWriter", "inbox_writer"]

log = logging.getLogger(__name__)

MAX_BATCH = 256

In = TypeVar("In")
Out = TypeVar("Out")


class Grouped(Generic[In, Out]):
    """Runs ``work(session, inputs) -> outputs`` once for the inputs of concurrent callers."""

    def __init__(
        self,
        db: Database,
        work: Callable[[AsyncSession, list[In]], Awaitable[list[Out]]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        """Group calls on ``db``; ``work`` gets at most ``max_batch`` inputs at once."""
        self.db = db
        self.work = work
        self.max_batch = max_batch
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, value: In) -> Out:
        """Queue ``value``; return its output once its batch has committed."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._pending.append((value, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                outputs = await self._run([value for value, _ in batch])
            except Exception:
                if len(batch) == 1:
                    outputs = None
                else:
                    # One bad input must not fail its neighbours: retry them one by one.
                    log.warning("grouped inbox step failed; retrying %d singly", len(batch))
                    for value, future in batch:
                        try:
                            (output,) = await self._run([value])
                        except Exception as exc:
                            _settle(future, error=exc)
                        else:
                            _settle(future, output)
                    continue
            if outputs is None:
                _settle(batch[0][1], error=RuntimeError("inbox database step failed"))
                continue
            for (_, future), output in zip(batch, outputs, strict=True):
                _settle(future, output)

    async def _run(self, values: list[In]) -> list[Out]:
        async with self.db.session() as session:
            return await self.work(session, values)


def _settle(
    future: asyncio.Future[Any], value: Any = None, *, error: Exception | None = None
) -> None:
    if future.done():  # the request went away (client disconnect); the work is done anyway
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


async def _insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> list[None]:
    await session.execute(insert_ignore(session, InboxItem, ["ap_id"]), rows)
    return [None] * len(rows)


async def _blocked(session: AsyncSession, host_sets: list[frozenset[str]]) -> list[set[str]]:
    blocked = await blocked_hosts(session, set().union(*host_sets))
    return [blocked & hosts for hosts in host_sets]


class InboxWriter:
    """The grouped database steps of one app's inbox."""

    def __init__(self, db: Database) -> None:
        """Create the groupers for ``db``."""
        self.store: Grouped[dict[str, Any], None] = Grouped(db, _insert_rows)
        self._blocked: Grouped[frozenset[str], set[str]] = Grouped(db, _blocked)

    async def blocked(self, hosts: set[str]) -> set[str]:
        """The subset of ``hosts`` refused by a domain block (looked up now, grouped)."""
        return await self._blocked(frozenset(h for h in hosts if h))


INBOX_WRITER: Slot[InboxWriter] = Slot("inbox_writer")


def inbox_writer(state: AppState) -> InboxWriter:
    """The app's writer (created on first use, one per app)."""
    writer = state.get(INBOX_WRITER)
    if writer is None:
        writer = InboxWriter(state.db)
        state.put(INBOX_WRITER, writer)
    return writer
