"""The inbox worker: processes stored activities through the handler registry, in two phases.

*Prepare*, with no transaction open: a malformed payload, or one whose actor is ours (our own
activities never come through the inbox, so it is forged), is recorded as ``ignored`` with its
reason (never retried), and the remote documents the handler will need (sender, object,
``inReplyTo`` chain) are fetched into the item's memo (``fedi.federation.remote.prepare``).
*Apply*, in one short transaction with no network: the sender is loaded, the activity is
linked to the inboxes of the local actors it reached, and the registered handler runs; every
fetch answers from the memo, and a document it lacks ends the transaction with ``NeedsFetch``
so it is fetched outside and apply runs again (``fedi.federation.remote.memo``).

When the handler raises, everything it did is rolled back. A payload the handler cannot read
(``TypeError``, ``KeyError``... from its shape), a value the database refuses
(``DataError``: too long for its column, out of range), a row that conflicts again after
the race retries, or a document that is gone is permanent: ``ignored`` with the reason,
logged once, never retried. Only what may go away by itself (a network failure, a locked
or unreachable database) is retried with backoff (``failed`` after 8 attempts), so one
poisoned item never blocks the others. That holds for the background prepare step too.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from activitypub.fetcher import FetchError
from activitypub.normalize import Malformed, normalize_activity
from activitypub.vocab import PUBLIC_ALIASES, as_list, id_of, without_hidden_recipients
from fedi.dbutil import insert_ignore
from fedi.domain.notes import OBJECT_MEMO
from fedi.federation.incoming.registry import (
    LOCAL_ACTOR_REFUSED,
    PREPARERS,
    Ignore,
    InboundContext,
    PrepareContext,
    load_handlers,
)
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor
from fedi.federation.remote.memo import FetchMemo, NeedsFetch, applying, is_transient
from fedi.federation.remote.prepare import (
    FETCH_CONCURRENCY,
    Known,
    Preparation,
    fetch_ahead,
    fetch_needed,
    needs_network,
    read_known,
)
from fedi.federation.remote.recent import RecentDocuments
from fedi.settings import Settings
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from fedi.workers.prefetch import (
    FOLLOWERS_MEMO,
    PREFETCHED_OBJECTS,
    created_object_id,
    prefetch_step,
)
from models import Actor, ApObject, Follow, InboxEntry, InboxItem, utcnow

__all__ = ["MAX_ATTEMPTS", "InboxWorker", "local_recipients"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long one worker transaction keeps taking items (it holds SQLite's write lock meanwhile,
# which every inbox accept waits for). Each transaction also costs a few statements of its
# own: at 10 ms a like cost the worker about twice the CPU it costs in longer transactions
# on the benchmark machine; at 15 and 25 ms about the same, and 25 ms held the lock long
# enough to cost the plain inbox accepts (BENCHMARKS.md, finding 14).
TRANSACTION_BUDGET = 0.015
LOAD_STEP = 8
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")
# How many times apply may ask for a document prepare did not fetch (each one is a rollback,
# a fetch with no transaction open, and a new apply).
MAX_FETCH_ROUNDS = 10
# How often apply runs again after losing a race to insert the same row.
MAX_RACE_RETRIES = 2
# How many items may wait for the network in the background at once (each holds a claim).
MAX_IN_FLIGHT = 256
# Errors a handler raises reading a payload of a shape it cannot use (a dict where a string
# belongs, a missing key, a date past year 9999, a value too long for its column): applying
# it again would fail the same way, so it is not retried.
PERMANENT_ERRORS = (
    Malformed, TypeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError,
    RecursionError, DataError,
)
# What one item's apply may raise that its one-by-one pass records properly.
EXPECTED_ERRORS = (*PERMANENT_ERRORS, ActorUnavailable, FetchError)


def _where(exc: BaseException) -> str:
    """`` at file:line`` of the innermost frame of ``exc``, for a log line without traceback."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f" (at {code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name})"


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


def _created_parent(item: InboxItem) -> str | None:
    """The ``inReplyTo`` of the object a ``Create`` item carries embedded (None if none)."""
    if item.type != "Create" or not isinstance(item.payload, dict):
        return None
    obj = item.payload.get("object")
    return id_of(obj.get("inReplyTo")) if isinstance(obj, dict) else None


async def _prefetch_parents(db: AsyncSession, items: list[InboxItem]) -> None:
    """Read at once the stored posts that the Creates of ``items`` reply to.

    Finding a reply's thread looks its parent up first (``lookup_object``); one statement
    for the step instead of one per reply. Kept with the step's prefetched objects, which
    the items update with what they store, so a later item sees a parent an earlier one
    stored.
    """
    prefetched: dict[str, Any] | None = db.info.get(PREFETCHED_OBJECTS)
    if prefetched is None:
        return
    wanted = sorted({
        parent for item in items
        if item.state == "pending" and (parent := _created_parent(item)) is not None
        and parent not in prefetched
    })
    if wanted:
        stored = {
            row.ap_id: row
            for row in await db.scalars(select(ApObject).where(ApObject.ap_id.in_(wanted)))
        }
        prefetched.update({parent: stored.get(parent) for parent in wanted})


class InboxWorker:
    """Claims pending inbox items and dispatches them; ``run_once`` for tests and loops."""

    def __init__(self, state: AppState, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Create a worker for the app ``state``."""
        self.state = state
        self.lease = lease
        self.handlers = load_handlers()
        # Items being prepared (fetching) and applied in the background, and the bound on
        # their concurrent GETs.
        self._in_flight: set[asyncio.Task[None]] = set()
        self._fetch_limit = asyncio.Semaphore(FETCH_CONCURRENCY)
        # Parents (and their authors) fetched for thread walks, shared by a burst of replies.
        self._recent = RecentDocuments()
        # Prepared items waiting for the applier (one task, see _apply_when_ready).
        self._ready: list[tuple[int, FetchMemo, asyncio.Future[bool]]] = []
        self._applier: asyncio.Task[None] | None = None
        # Seconds one item has taken to apply lately (0: not known yet).
        self._item_cost = 0.0

    async def run_once(self, limit: int = 50, *, wait: bool = True) -> int:
        """Claim and process up to ``limit`` due items; return how many were handled.

        First *prepare* (no transaction open): record malformed items, then sort out those
        that need something from the network. The others are *applied* right away, as many
        per transaction as the budget allows. Those that need the network are prepared in
        the background, so one slow server holds up only its own items, and applied together
        as they become ready (``_apply_when_ready``). With
        ``wait`` (tests, ``drain``) the call returns once those are done too; the worker
        loop passes ``wait=False`` and carries on with the next items meanwhile.
        """
        room = max(0, min(limit, MAX_IN_FLIGHT - len(self._in_flight)))
        ids: list[int] = []
        if room:
            async with self.state.db.session() as db:
                ids = await claim_due(db, InboxItem, now=utcnow(), limit=room, lease=self.lease)
        if not ids:
            return await self._settle(wait)
        ready, memos = await self._prepare(ids)
        await self._apply_all(ready, memos)
        if wait:
            await self._settle(wait)
        return len(ids)

    async def _settle(self, wait: bool) -> int:
        """Wait for the background items (with ``wait``); how many of them finished."""
        if not self._in_flight:
            return 0
        if wait:
            pending = set(self._in_flight)
            await asyncio.wait(pending)
            return len(pending)
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            # Full: let one finish before claiming more (the loop would spin otherwise).
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
            return 1
        return 0

    async def _apply_all(self, ids: list[int], memos: dict[int, FetchMemo]) -> None:
        """Apply ``ids`` in as few transactions as the budget allows."""
        remaining = list(ids)
        while len(remaining) > 1:
            consumed, failed = await self.process_together(remaining, memos)
            if failed is not None:
                await self.process(failed, memos.get(failed))
                remaining = [i for i in remaining if i != failed and i not in consumed]
            elif consumed:
                remaining = [i for i in remaining if i not in consumed]
            else:
                break
        for item_id in remaining:
            await self.process(item_id, memos.get(item_id))

    async def _prepare(self, ids: list[int]) -> tuple[list[int], dict[int, FetchMemo]]:
        """(items ready to apply now, their memos); network-bound items go to the background.

        Malformed items are recorded as ignored here, once.
        """
        async with self.state.db.sessions() as db:
            rows = (
                await db.execute(
                    select(
                        InboxItem.id, InboxItem.type, InboxItem.actor_ap_id, InboxItem.payload
                    ).where(InboxItem.id.in_(ids), InboxItem.state == "pending")
                )
            ).all()
        preps: list[Preparation] = []
        memos: dict[int, FetchMemo] = {}
        for item_id, kind, actor_ap_id, payload in rows:
            if self.state.settings.is_local_id(actor_ap_id or ""):
                await self._reject(item_id, LOCAL_ACTOR_REFUSED)
                continue
            if kind not in self.handlers:
                memos[item_id] = FetchMemo()  # nothing to fetch: apply says "no handler"
                continue
            try:
                parsed = normalize_activity(payload)
            except Malformed as exc:
                await self._reject(item_id, f"malformed: {exc}")
                continue
            prep = Preparation(item_id, payload, actor_ap_id, kind)
            # Apply reuses this read of the item and of its embedded object.
            prep.memo.activity = payload
            if parsed.object is not None and parsed.object.id is not None:
                prep.memo.remember_parsed(parsed.object_raw, parsed.object)
            preps.append(prep)
        if preps:
            known = await read_known(self.state, preps)
            for prep in preps:
                if prep.activity_type in PREPARERS or await needs_network(
                    self.state, prep, known
                ):
                    self._start(self._prepare_and_apply(prep, known))
                else:
                    memos[prep.key] = prep.memo
        order = {item_id: n for n, item_id in enumerate(ids)}
        return sorted(memos, key=order.__getitem__), memos

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _prepare_and_apply(self, prep: Preparation, known: Known) -> None:
        """Fetch what ``prep`` needs (no transaction open), then have it applied."""
        try:
            await fetch_ahead(self.state, prep, known, self._fetch_limit, self._recent)
            preparer = PREPARERS.get(prep.activity_type)
            if preparer is not None:
                await preparer(
                    PrepareContext(self.state, prep.activity, prep.sender_id, prep.memo)
                )
            if not await self._apply_when_ready(prep.key, prep.memo):
                await self.process(prep.key, prep.memo)
        except Exception as exc:
            # Recorded like a failure to apply: permanent ones are ignored with the reason,
            # the others counted and retried with backoff (not again and again each time
            # the claim runs out). Never lose the worker over it.
            try:
                await self._failed(prep.key, exc)
            except Exception:
                log.exception("preparing inbox item %s failed", prep.key)

    async def _apply_when_ready(self, item_id: int, memo: FetchMemo) -> bool:
        """Hand a prepared item to the applier; whether it applied it (else: on your own).

        Items whose documents arrived meanwhile are applied together, in one task: as few
        transactions as the budget allows (like the items that needed no network), and
        not side by side (two replies to one new parent would both store it, and one
        would have to apply again). An item alone, or one that leaves its batch (it needs
        another document, or fails), is handed back to be processed on its own, so its
        fetch rounds hold up no other item.
        """
        applied: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._ready.append((item_id, memo, applied))
        if self._applier is None or self._applier.done():
            self._applier = asyncio.create_task(self._apply_ready())
        return await asyncio.shield(applied)

    async def _apply_ready(self) -> None:
        """Apply the prepared items, a batch at a time, until none is waiting."""
        while self._ready:
            batch, self._ready = self._ready, []
            memos = {item_id: memo for item_id, memo, _applied in batch}
            done: set[int] = set()
            try:
                remaining = list(memos) if len(memos) > 1 else []
                while remaining:
                    consumed, failed = await self.process_together(remaining, memos)
                    if not consumed and failed is None:
                        break
                    if failed is None:
                        done |= consumed
                    remaining = [i for i in remaining if i != failed and i not in consumed]
            except Exception:
                log.exception("applying %d prepared inbox items failed", len(batch))
            finally:
                for item_id, _memo, applied in batch:
                    if not applied.done():
                        applied.set_result(item_id in done)

    async def aclose(self) -> None:
        """Cancel the background items (their claims run out; they are tried again)."""
        tasks = set(self._in_flight)
        if self._applier is not None and not self._applier.done():
            tasks.add(self._applier)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def process_together(
        self, ids: list[int], memos: dict[int, FetchMemo] | None = None
    ) -> tuple[set[int], int | None]:
        """Handle the first of ``ids`` in ONE transaction; return (ids it took, failed id).

        One commit for many items instead of one per item is what lets the worker keep up
        with a busy inbox, but on SQLite a transaction holds the single write lock from its
        first write to its commit, and the inbox's accept path needs that lock for every
        batch of 202s. So there a transaction stops taking items after
        ``TRANSACTION_BUDGET`` seconds and the caller starts the next one with the rest
        (see BENCHMARKS.md).

        When an item raises anything (``Ignore``, or ``NeedsFetch`` because apply wants a
        document prepare did not fetch), the transaction is rolled back and nothing is
        taken; that item's id is returned so the caller handles it on its own (with its own
        error handling and fetch rounds) and batches the others again.
        """
        started = time.monotonic()
        # PostgreSQL locks rows, not the database: its transactions need no time limit.
        budget = TRANSACTION_BUDGET if self.state.db.is_sqlite else None
        consumed: set[int] = set()
        current: int | None = None
        memos = memos if memos is not None else {}
        try:
            async with self.state.db.session() as db:
                done: list[int] = []
                entries: list[dict[str, Any]] = []
                # Items are loaded a few at a time, as many as the time left should fit
                # (what an item has cost lately): most transactions end before the last,
                # and an item loaded but left for the next transaction is loaded twice.
                offset = 0
                while offset < len(ids):
                    size = self._step_size(budget, time.monotonic() - started)
                    step = ids[offset : offset + size]
                    offset += size
                    consumed.update(step)
                    items = await self._load_items(db, step, memos)
                    await prefetch_step(db, self.state.settings, items)
                    await _prefetch_parents(db, items)
                    out_of_time = False
                    for n, item in enumerate(items):
                        if item.state == "pending":
                            current = item.id
                            memo = memos.setdefault(item.id, FetchMemo())
                            began = time.monotonic()
                            await self._apply(db, item, entries, memo)
                            self._note_item_cost(time.monotonic() - began)
                            done.append(item.id)
                        # Checked after every item, not every step: a step of eight
                        # replies is ~50 ms, which the accept path would wait for.
                        if budget is not None and time.monotonic() - started > budget:
                            consumed.difference_update(later.id for later in items[n + 1 :])
                            out_of_time = True
                            break
                    current = None
                    if out_of_time:
                        break
                await self._store_entries(db, entries)
                # One UPDATE for the transaction instead of one per item.
                await db.execute(
                    update(InboxItem)
                    .where(InboxItem.id.in_(done))
                    .values(state="done", processed_at=utcnow(), claimed_until=None, error=None)
                    .execution_options(synchronize_session=False)
                )
        except (Ignore, NeedsFetch):
            # Normal: an item with nothing to do (an Announce of something we cannot show),
            # or one that needs a document fetched first. It goes alone; the rest batch on.
            log.debug("inbox item %s leaves its batch of %d", current, len(ids))
            return set(), current
        except Exception as exc:
            if current is None or not isinstance(exc, EXPECTED_ERRORS):
                # Not an item's own trouble (the shared statements failed): worth a trace.
                log.info("batch of %d inbox items fell back to one by one", len(ids),
                         exc_info=True)
            # An item's own failure is recorded (and logged once) when it goes alone.
            return set(), current
        return consumed, None

    def _step_size(self, budget: float | None, spent: float) -> int:
        """How many items to load next: what fits in the time left, 1 to ``LOAD_STEP``."""
        if budget is None or self._item_cost <= 0:
            return LOAD_STEP
        return max(1, min(LOAD_STEP, int((budget - spent) / self._item_cost)))

    def _note_item_cost(self, seconds: float) -> None:
        """Fold one item's apply time into the running estimate (``_step_size``)."""
        self._item_cost = seconds if self._item_cost <= 0 else (
            0.8 * self._item_cost + 0.2 * seconds
        )

    @staticmethod
    async def _load_items(
        db: AsyncSession, ids: list[int], memos: dict[int, FetchMemo]
    ) -> list[InboxItem]:
        """The items ``ids``, with the payloads prepare read instead of reading them again."""
        items = list(await db.scalars(
            select(InboxItem)
            .where(InboxItem.id.in_(ids))
            .order_by(InboxItem.id)
            .options(defer(InboxItem.payload))
        ))
        for item in items:
            memo = memos.get(item.id)
            if memo is not None and memo.activity is not None:
                set_committed_value(item, "payload", memo.activity)
            else:
                await db.refresh(item, ["payload"])
        return items

    async def process(self, item_id: int, memo: FetchMemo | None = None) -> None:
        """Handle one claimed item and record the outcome.

        Apply runs with ``memo`` answering every fetch; when it asks for a document the memo
        lacks, the transaction is rolled back, the document fetched with no transaction
        open, and apply runs again (at most ``MAX_FETCH_ROUNDS`` times).
        """
        memo = memo if memo is not None else FetchMemo()
        races = 0
        for _round in range(MAX_FETCH_ROUNDS):
            try:
                async with self.state.db.session() as db:
                    item = await db.get(InboxItem, item_id)
                    if item is None or item.state != "pending":
                        return
                    entries: list[dict[str, Any]] = []
                    await self._apply(db, item, entries, memo)
                    await self._store_entries(db, entries)
                    self._finish(item, "done")
            except NeedsFetch as need:
                await fetch_needed(self.state, memo, need)
                continue
            except IntegrityError as exc:
                # Items that need the network are applied side by side: two of them can
                # create the same row (a Create{Page} and a Create{Ticket} both making the
                # initiative's copy). The loser applies again and finds the winner's row.
                races += 1
                if races <= MAX_RACE_RETRIES:
                    continue
                # Not a race any more: the payload itself conflicts with a row we hold.
                await self._reject(item_id, f"conflicts with a stored row: {exc.orig}")
            except Ignore as exc:
                if memo.transient:
                    # The handler gave up because a fetch failed on the network: later.
                    failure = memo.transient[0]
                    await self._retry(item_id, f"fetch failed: {failure.url}: {failure}")
                else:
                    await self._failed(item_id, exc)
            except Exception as exc:
                await self._failed(item_id, exc)
            return
        await self._reject(
            item_id, f"needs more than {MAX_FETCH_ROUNDS} rounds of remote documents"
        )

    async def _failed(self, item_id: int, exc: Exception) -> None:
        """Record why applying ``item_id`` failed: permanently, or to retry later."""
        if isinstance(exc, Ignore):
            await self._mark(item_id, "ignored", str(exc) or None)
        elif isinstance(exc, ActorUnavailable):
            if exc.permanent:
                why = "gone" if exc.gone else "unusable"
                await self._reject(item_id, f"actor {why}: {exc}")
            else:
                await self._retry(item_id, f"actor unavailable: {exc}")
        elif isinstance(exc, FetchError):
            if is_transient(exc):
                await self._retry(item_id, f"fetch failed: {exc.url}: {exc}")
            else:
                await self._reject(item_id, f"cannot fetch {exc.url}: {exc}")
        elif isinstance(exc, PERMANENT_ERRORS):
            # The payload has a shape the handler cannot read: it never will, so no retry.
            await self._reject(item_id, f"{type(exc).__name__}: {exc}{_where(exc)}")
        else:
            log.exception("inbox item %s failed", item_id, exc_info=exc)
            await self._retry(item_id, f"{type(exc).__name__}: {exc}")

    async def _reject(self, item_id: int, reason: str) -> None:
        """Mark ``item_id`` ignored for good, with ``reason``, logged once, no traceback."""
        log.info("inbox item %s ignored: %s", item_id, reason)
        await self._mark(item_id, "ignored", reason[:2000])

    async def _apply(
        self,
        db: AsyncSession,
        item: InboxItem,
        entries: list[dict[str, Any]],
        memo: FetchMemo,
    ) -> None:
        """Dispatch ``item`` with ``memo`` answering fetches; no network happens here."""
        with applying(memo):
            await self._dispatch(db, item, entries)
        if memo.missing:
            # A handler caught the NeedsFetch and carried on without the document: what it
            # did is wrong, so roll back and fetch what it wanted.
            kind, key = memo.missing[0]
            raise NeedsFetch(key, kind=kind)

    async def _dispatch(
        self, db: AsyncSession, item: InboxItem, entries: list[dict[str, Any]]
    ) -> None:
        """Run the item's handler; the local inbox entries it reached go into ``entries``."""
        # A fresh memo of object lookups for each item, seeded with what was prefetched.
        memo: dict[str, Any] = {}
        prefetched = db.info.get(PREFETCHED_OBJECTS)
        if prefetched is not None:
            for known in (created_object_id(item), _created_parent(item)):
                if known is not None and known in prefetched:
                    memo[known] = prefetched[known]
        db.info[OBJECT_MEMO] = memo
        if item.type != "Create":
            # Anything but a Create may change who follows whom (Accept, Undo, Delete...).
            db.info.pop(FOLLOWERS_MEMO, None)
        handler = self.handlers.get(item.type)
        if handler is None:
            raise Ignore(f"no handler for {item.type or 'untyped'} activities")
        if self.state.settings.is_local_id(item.actor_ap_id or ""):
            raise Ignore(LOCAL_ACTOR_REFUSED)
        actor = await get_or_fetch_actor(self.state, db, item.actor_ap_id)
        if actor.local:
            raise Ignore(LOCAL_ACTOR_REFUSED)
        ids = await local_recipients(db, self.state.settings, actor, item.payload)
        if ids:
            # What a person reads in their inbox never names the other blind recipients.
            shown = without_hidden_recipients(item.payload)
            entries.extend(
                {"actor_id": i, "activity_ap_id": item.ap_id, "payload": shown} for i in ids
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
