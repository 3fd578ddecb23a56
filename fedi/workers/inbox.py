"""The inbox worker: processes stored activities through the handler registry.

Each item is handled in its own transaction: the sender is loaded (or fetched), the
activity is linked to the inboxes of the local actors it reached, and the registered handler
runs. When the handler raises, everything it did is rolled back and the item is retried
with backoff (``failed`` after 8 attempts), so one poisoned item never blocks the others.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import PUBLIC_ALIASES, as_list, id_of
from fedi.dbutil import insert_ignore
from fedi.domain.notes import OBJECT_MEMO
from fedi.federation.incoming.registry import Ignore, InboundContext, load_handlers
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor
from fedi.settings import Settings
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from fedi.workers.prefetch import (
    FOLLOWERS_MEMO,
    PREFETCHED_OBJECTS,
    created_object_id,
    prefetch_step,
)
from models import Actor, Follow, InboxEntry, InboxItem, utcnow

__all__ = ["MAX_ATTEMPTS", "InboxWorker", "local_recipients"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long one worker transaction keeps taking items (it holds SQLite's write lock meanwhile).
TRANSACTION_BUDGET = 0.010
LOAD_STEP = 8
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with ±20 % jitter for the ``attempts``-th failure."""
    base = min(BASE_DELAY * (2 ** max(0, attempts - 1)), MAX_DELAY)
    return base * random.uniform(0.8, 1.2)


# Built once: constructing the statement cost as much as running it (see BENCHMARKS.md).
_LOCAL_FOLLOWERS = (
    select(Follow.follower_id)
    .join(Actor, Actor.id == Follow.follower_id)
    .where(
        Follow.followed_id == bindparam("followed"),
        Follow.accepted.is_(True),
        Actor.local.is_(True),
    )
)


async def local_recipients(
    db: AsyncSession, settings: Settings, sender: Actor, activity: dict[str, Any]
) -> list[int]:
    """Ids of the local actors a remote activity reached.

    Those named in to/cc/bto/bcc/audience, the local object of a Follow-like activity (a
    Mastodon ``Follow`` has no addressing at all), and the sender's local followers when
    its followers collection (or Public) is addressed.
    """
    named: set[str] = set()
    for field in ADDRESS_FIELDS:
        for entry in as_list(activity.get(field)):
            ident = id_of(entry)
            if ident:
                named.add(ident)
    target = id_of(activity.get("object"))
    if target:
        named.add(target)
    ids: set[int] = set()
    # Only ids on our host can name a local actor: most activities need no lookup here.
    plain = {ident for ident in named if settings.is_local_id(ident)}
    if plain:
        ids.update(
            await db.scalars(
                select(Actor.id).where(Actor.local.is_(True), Actor.ap_id.in_(sorted(plain)))
            )
        )
    followers_addressed = bool(sender.followers_url and sender.followers_url in named)
    if followers_addressed or named & PUBLIC_ALIASES:
        known = (db.info.get(FOLLOWERS_MEMO) or {}).get(sender.id)
        if known is not None:
            ids.update(known)
        else:
            ids.update(await db.scalars(_LOCAL_FOLLOWERS, {"followed": sender.id}))
    ids.discard(sender.id)
    return sorted(ids)


class InboxWorker:
    """Claims pending inbox items and dispatches them; ``run_once`` for tests and loops."""

    def __init__(self, state: AppState, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Create a worker for the app ``state``."""
        self.state = state
        self.lease = lease
        self.handlers = load_handlers()

    async def run_once(self, limit: int = 50) -> int:
        """Claim and process up to ``limit`` due items; return how many were claimed."""
        async with self.state.db.session() as db:
            ids = await claim_due(db, InboxItem, now=utcnow(), limit=limit, lease=self.lease)
        remaining = ids
        while len(remaining) > 1:
            consumed = await self.process_together(remaining)
            if not consumed:
                break
            remaining = [item_id for item_id in remaining if item_id not in consumed]
        for item_id in remaining:
            await self.process(item_id)
        return len(ids)

    async def process_together(self, ids: list[int]) -> set[int]:
        """Handle the first of ``ids`` in ONE transaction; return the ids it took.

        One commit for many items instead of one per item is what lets the worker keep up
        with a busy inbox, but on SQLite a transaction holds the single write lock from its
        first write to its commit, and the inbox's accept path needs that lock for every
        batch of 202s. So there a transaction stops taking items after
        ``TRANSACTION_BUDGET`` seconds and the caller starts the next one with the rest
        (see BENCHMARKS.md).

        When an item raises anything (even ``Ignore``), the transaction is rolled back and an
        empty set returned; the caller then handles the rest one by one, each with its own
        error handling.
        """
        started = time.monotonic()
        # PostgreSQL locks rows, not the database: its transactions need no time limit.
        budget = TRANSACTION_BUDGET if self.state.db.is_sqlite else None
        consumed: set[int] = set()
        try:
            async with self.state.db.session() as db:
                done: list[int] = []
                entries: list[dict[str, Any]] = []
                # Items are loaded a few at a time: most transactions end before the last.
                for offset in range(0, len(ids), LOAD_STEP):
                    step = ids[offset : offset + LOAD_STEP]
                    consumed.update(step)
                    items = list(await db.scalars(
                        select(InboxItem).where(InboxItem.id.in_(step)).order_by(InboxItem.id)
                    ))
                    await prefetch_step(db, self.state.settings, items)
                    for item in items:
                        if item.state == "pending":
                            await self._dispatch(db, item, entries)
                            done.append(item.id)
                    if budget is not None and time.monotonic() - started > budget:
                        break
                await self._store_entries(db, entries)
                # One UPDATE for the transaction instead of one per item.
                await db.execute(
                    update(InboxItem)
                    .where(InboxItem.id.in_(done))
                    .values(state="done", processed_at=utcnow(), claimed_until=None, error=None)
                    .execution_options(synchronize_session=False)
                )
        except Ignore:
            # An item with nothing to do is normal (an Announce of something we cannot show);
            # the one-by-one pass records it as ignored without noise in the log.
            log.debug("batch of %d inbox items holds an ignored one; one by one", len(ids))
            return set()
        except Exception:
            log.info("batch of %d inbox items fell back to one by one", len(ids), exc_info=True)
            return set()
        return consumed

    async def process(self, item_id: int) -> None:
        """Handle one claimed item and record the outcome."""
        try:
            async with self.state.db.session() as db:
                item = await db.get(InboxItem, item_id)
                if item is None or item.state != "pending":
                    return
                entries: list[dict[str, Any]] = []
                await self._dispatch(db, item, entries)
                await self._store_entries(db, entries)
                self._finish(item, "done")
        except Ignore as exc:
            await self._mark(item_id, "ignored", str(exc) or None)
        except ActorUnavailable as exc:
            if exc.gone:
                await self._mark(item_id, "ignored", f"actor gone: {exc}")
            else:
                await self._retry(item_id, f"actor unavailable: {exc}")
        except Exception as exc:
            log.exception("inbox item %s failed", item_id)
            await self._retry(item_id, f"{type(exc).__name__}: {exc}")

    async def _dispatch(
        self, db: AsyncSession, item: InboxItem, entries: list[dict[str, Any]]
    ) -> None:
        """Run the item's handler; the local inbox entries it reached go into ``entries``."""
        # A fresh memo of object lookups for each item, seeded with what was prefetched.
        memo: dict[str, Any] = {}
        prefetched = db.info.get(PREFETCHED_OBJECTS)
        created = created_object_id(item)
        if prefetched is not None and created is not None and created in prefetched:
            memo[created] = prefetched[created]
        db.info[OBJECT_MEMO] = memo
        if item.type != "Create":
            # Anything but a Create may change who follows whom (Accept, Undo, Delete...).
            db.info.pop(FOLLOWERS_MEMO, None)
        handler = self.handlers.get(item.type)
        if handler is None:
            raise Ignore(f"no handler for {item.type or 'untyped'} activities")
        actor = await get_or_fetch_actor(self.state, db, item.actor_ap_id)
        if not actor.local:
            ids = await local_recipients(db, self.state.settings, actor, item.payload)
            entries.extend(
                {"actor_id": i, "activity_ap_id": item.ap_id, "payload": item.payload}
                for i in ids
            )
        ctx = InboundContext(
            state=self.state, db=db, item=item, activity=item.payload, actor=actor
        )
        await handler(ctx)
        if prefetched is not None:
            prefetched.update(memo)  # what this item stored, for the items after it

    @staticmethod
    async def _store_entries(db: AsyncSession, entries: list[dict[str, Any]]) -> None:
        """Link activities to the local inboxes they reached: one statement for all."""
        if entries:
            await db.execute(
                insert_ignore(db, InboxEntry, ["actor_id", "activity_ap_id"]), entries
            )

    @staticmethod
    def _finish(item: InboxItem, state: str, error: str | None = None) -> None:
        item.state = state
        item.processed_at = utcnow()
        item.claimed_until = None
        item.error = error

    async def _mark(self, item_id: int, state: str, error: str | None) -> None:
        async with self.state.db.session() as db:
            await db.execute(
                update(InboxItem)
                .where(InboxItem.id == item_id)
                .values(state=state, processed_at=utcnow(), claimed_until=None, error=error)
            )

    async def _retry(self, item_id: int, error: str) -> None:
        async with self.state.db.session() as db:
            item = await db.get(InboxItem, item_id)
            if item is None:
                return
            item.attempts += 1
            item.error = error[:2000]
            item.claimed_until = None
            if item.attempts >= MAX_ATTEMPTS:
                item.state = "failed"
                item.processed_at = utcnow()
            else:
                item.next_try_at = utcnow() + retry_delay(item.attempts)
