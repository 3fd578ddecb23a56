"""The delivery worker: sends queued ``Delivery`` rows, signed, with retries and pauses.

A row is marked ``delivered`` only after the receiving server answered 2xx, so a crash
between the POST and the commit can deliver an activity twice; receivers deduplicate by
activity id (ActivityPub servers, ours included, store an activity once by its id).

Outcomes (see ``activitypub.delivery.classify_status``): 2xx delivered; 410 gone (the
recipient actor is marked gone); other final 4xx failed; 401/408/429/5xx and network errors
are retried after ``30 s * 2^attempts`` (±20 % jitter, at most 6 h, at least Retry-After),
and given up three days after the row was created. A domain that fails 10 times in a row is
paused for 10 minutes, doubling up to 12 hours; its rows wait (no attempts are counted) and
the first success lifts the pause.

``run_once`` is a pipeline: the claimer leases due rows a batch at a time and refills a queue
as soon as it runs low, ``concurrency`` sender tasks take jobs from it (one POST at a time
per inbox, in the order the activities were published, and at most ``PER_HOST`` per host; a
job that must wait is parked with its host's busy senders, not holding a slot), each job is
signed right before its POST (one signature per activity and inbox; followers are already
collapsed onto shared inboxes; in a thread pool it was slower, see BENCHMARKS.md), and one
background flush writes outcomes in batches while POSTs go on. Nothing waits for the slowest
inbox of a batch before the next rows go out (BENCHMARKS.md, fan-out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.delivery import DeliveryResult, post_activity
from activitypub.sigbase import SigningKey
from fedi.dbutil import insert_ignore
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from models import Actor, Delivery, DomainHealth, OutboxActivity, utcnow

__all__ = [
    "BASE_DELAY",
    "GIVE_UP_AFTER",
    "MAX_DELAY",
    "PAUSE_AFTER_FAILURES",
    "PER_HOST",
    "DeliveryWorker",
    "backoff",
    "pause_length",
]

log = logging.getLogger(__name__)

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
PAUSE_AFTER_FAILURES = 10
FIRST_PAUSE = timedelta(minutes=10)
MAX_PAUSE = timedelta(hours=12)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones (with ±20 % jitter).

    ``30 s * 2^(attempts-1)``, capped at 6 h, never shorter than the server's Retry-After.
    """
    exponent = min(max(0, attempts - 1), 20)
    delay = min(BASE_DELAY * (2**exponent), MAX_DELAY) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, GIVE_UP_AFTER.total_seconds())))
    return delay


def pause_length(level: int) -> timedelta:
    """How long the ``level``-th consecutive pause of a domain lasts (1 = 10 minutes)."""
    return min(FIRST_PAUSE * (2 ** min(max(0, level - 1), 16)), MAX_PAUSE)


# How many POSTs may be in flight to one host at a time (to different inboxes: one inbox gets
# one POST at a time, so activities arrive in order). A few in parallel keep a server without
# shared inbox moving without hammering it (Lemmy sends to each instance strictly one after
# another).
PER_HOST = 4
# How often the claimer looks for newly due rows while the last POSTs of a run are in flight,
# so a row committed meanwhile does not wait for the slowest inbox of the run.
TAIL_POLL_SECONDS = 0.25
# Outcomes are written once half the concurrency has finished or after this long: a
# transaction per answer cost ~4 ms of CPU each (a quarter of the worker's time with
# 200 ms inboxes), while a crash can repeat at most the POSTs answered but not yet written.
FLUSH_WAIT_SECONDS = 0.1
# How long a cancelled run may take to write the outcomes it already has.
STOP_FLUSH_SECONDS = 5.0

@dataclass
class _Job:
    delivery_id: int
    inbox_url: str
    domain: str
    attempts: int
    created_at: datetime
    activity_id: int
    actor_id: int


@dataclass
class _Run:
    """The state of one ``run_once``: the queue of claimed jobs and who is busy where.

    One POST at a time per inbox, so an inbox receives activities in the order they were
    published (a ``Delete`` never overtakes its ``Create``), and at most ``per_host`` POSTs
    at a time per host. Jobs that cannot start yet wait per host, in claim order.
    """

    queue: asyncio.Queue[_Job | None] = field(default_factory=asyncio.Queue)
    bodies: dict[int, bytes] = field(default_factory=dict)
    busy_hosts: Counter[str] = field(default_factory=Counter)  # POSTs in flight per host
    busy_inboxes: set[str] = field(default_factory=set)
    waiting: dict[str, deque[_Job]] = field(default_factory=dict)  # by host, claim order
    waiting_inboxes: Counter[str] = field(default_factory=Counter)
    outstanding: int = 0  # claimed, not yet answered
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def may_start(self, job: _Job, per_host: int) -> bool:
        """Whether ``job`` can go now (its inbox idle with nothing older waiting for it)."""
        return (
            job.inbox_url not in self.busy_inboxes
            and not self.waiting_inboxes[job.inbox_url]
            and self.busy_hosts[job.domain] < per_host
        )

    def wait(self, job: _Job) -> None:
        """Park ``job`` until a sender of its host is done."""
        self.waiting.setdefault(job.domain, deque()).append(job)
        self.waiting_inboxes[job.inbox_url] += 1

    def start(self, job: _Job) -> None:
        """Mark ``job``'s inbox and host busy."""
        self.busy_inboxes.add(job.inbox_url)
        self.busy_hosts[job.domain] += 1

    def finish(self, job: _Job) -> None:
        """Free ``job``'s inbox and host slot."""
        self.busy_inboxes.discard(job.inbox_url)
        self.busy_hosts[job.domain] -= 1

    def next_waiting(self, host: str) -> _Job | None:
        """The oldest parked job of ``host`` whose inbox is idle (taken off the list)."""
        queued = self.waiting.get(host)
        if not queued:
            return None
        for index, job in enumerate(queued):
            if job.inbox_url not in self.busy_inboxes:
                del queued[index]
                self.waiting_inboxes[job.inbox_url] -= 1
                return job
        return None


class DeliveryWorker:
    """Claims due deliveries and POSTs them concurrently through one shared HTTP client.

    ``run_once`` is a pipeline rather than claim-a-batch-and-wait: ``concurrency`` sender
    tasks take jobs from a queue that the claimer refills (``limit`` rows per claim) as soon
    as it runs low, one POST at a time goes to an inbox and at most ``per_host`` to a host,
    each POST is signed right before it goes, and outcomes are written by one background
    flush while the POSTs go on. It returns when nothing is due and nothing is in
    flight.
    """

    def __init__(
        self,
        state: AppState,
        *,
        concurrency: int | None = None,
        lease: timedelta = DEFAULT_LEASE,
        timeout: float = 15.0,
        per_host: int = PER_HOST,
    ) -> None:
        """Create a worker; ``concurrency`` defaults to ``settings.delivery_concurrency``."""
        self.state = state
        self.concurrency = max(1, concurrency or state.settings.delivery_concurrency)
        self.per_host = max(1, per_host)
        self.lease = lease
        self.timeout = timeout
        self._keys: dict[int, SigningKey] = {}
        #: POSTs this worker has had answered (or given up on), recorded or not yet.
        self.answered = 0
        # This worker's own transactions (claims and outcome writes) take turns: on SQLite
        # two of them at once would make one wait in the busy handler's sleeps.
        self._db_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._pending: list[tuple[_Job, DeliveryResult]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flush_size = max(1, self.concurrency // 2)
        self._enough = asyncio.Event()  # set when _flush_size outcomes are waiting
        self._draining = False  # the run is ending: write without waiting for more

    async def run_once(self, limit: int = 256) -> int:
        """Send every due row (claimed ``limit`` at a time), record outcomes; return how many.

        Returns 0 when nothing was due. Rows that fail are rescheduled (not due again in this
        run), so the run ends once nothing is due and the last POST is answered. Cancelled
        (the runner stopping), it still writes the outcomes of the POSTs already answered.
        """
        run = _Run()
        self._draining = False
        jobs = await self._claim(run, limit)
        if not jobs:
            return 0
        senders: list[asyncio.Task[None]] = []
        total = 0
        try:
            while True:
                if jobs:
                    total += len(jobs)
                    run.outstanding += len(jobs)
                    for job in jobs:
                        run.queue.put_nowait(job)
                    while len(senders) < min(self.concurrency, total):
                        senders.append(asyncio.create_task(self._sender(run)))
                elif run.outstanding == 0:
                    break
                else:
                    # Nothing due now, POSTs still in flight: look again shortly (rows may
                    # be committed meanwhile) or as soon as everything is answered.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._idle(run), TAIL_POLL_SECONDS)
                # Keep only about one round of jobs queued: claimed rows wait little, so
                # their leases are not spent in the queue.
                while run.queue.qsize() > self.concurrency:
                    run.progress.clear()
                    await run.progress.wait()
                jobs = await self._claim(run, limit)
            for _ in senders:
                run.queue.put_nowait(None)
            await asyncio.gather(*senders)
        except BaseException:
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush_all(), STOP_FLUSH_SECONDS)
            raise
        await self._flush_all()
        return total

    async def _idle(self, run: _Run) -> None:
        while run.outstanding:
            run.progress.clear()
            await run.progress.wait()

    async def _claim(self, run: _Run, limit: int) -> list[_Job]:
        """Lease up to ``limit`` due rows of hosts that are not paused; load what they need."""
        async with self._db_lock, self.state.db.session() as db:
            now = utcnow()
            paused = select(DomainHealth.domain).where(DomainHealth.paused_until > now)
            ids = await claim_due(
                db,
                Delivery,
                now=now,
                limit=limit,
                lease=self.lease,
                where=[Delivery.domain.not_in(paused)],
            )
            if not ids:
                return []
            rows = (
                await db.execute(
                    select(
                        Delivery.id,
                        Delivery.inbox_url,
                        Delivery.domain,
                        Delivery.attempts,
                        Delivery.created_at,
                        Delivery.activity_id,
                        OutboxActivity.actor_id,
                    )
                    .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
                    .where(Delivery.id.in_(ids))
                    .order_by(Delivery.next_try_at, Delivery.id)
                )
            ).all()
            jobs = [_Job(*row) for row in rows]
            missing = {job.activity_id for job in jobs} - run.bodies.keys()
            if missing:
                run.bodies.update(await self._bodies(db, missing))
            await self._load_keys(db, {job.actor_id for job in jobs})
        return jobs

    async def _sender(self, run: _Run) -> None:
        """Send queued jobs until the end-of-run marker, in order per inbox, capped per host."""
        while (job := await run.queue.get()) is not None:
            run.progress.set()
            if not run.may_start(job, self.per_host):
                # A busy sender of its host takes it later; no sender slot waits for it.
                run.wait(job)
                continue
            current: _Job | None = job
            while current is not None:
                run.start(current)
                try:
                    result = await self._post(current, run.bodies.get(current.activity_id))
                finally:
                    run.finish(current)
                self._pending.append((current, result))
                self.answered += 1
                if len(self._pending) >= self._flush_size:
                    self._enough.set()
                run.outstanding -= 1
                run.progress.set()
                self._flush_soon()
                current = run.next_waiting(current.domain)

    async def _bodies(self, db: AsyncSession, activity_ids: set[int]) -> dict[int, bytes]:
        rows = await db.execute(
            select(OutboxActivity.id, OutboxActivity.payload).where(
                OutboxActivity.id.in_(activity_ids)
            )
        )
        # Serialised once per activity, however many inboxes it goes to.
        return {row.id: orjson.dumps(row.payload) for row in rows}

    async def _load_keys(self, db: AsyncSession, actor_ids: set[int]) -> None:
        missing = actor_ids - self._keys.keys()
        if not missing:
            return
        rows = await db.execute(
            select(Actor.id, Actor.key_id, Actor.private_key_pem).where(Actor.id.in_(missing))
        )
        for row in rows:
            if row.key_id and row.private_key_pem:
                self._keys[row.id] = SigningKey(row.key_id, row.private_key_pem)

    async def _post(self, job: _Job, body: bytes | None) -> DeliveryResult:
        key = self._keys.get(job.actor_id)
        if body is None or key is None:
            return DeliveryResult(None, "final", error="activity or signing key missing")
        http = self.state.http
        if http is None:
            return DeliveryResult(None, "retry", error="no HTTP client")
        try:
            return await post_activity(
                http, job.inbox_url, body, key, get_federation(self.state).policy,
                timeout=self.timeout,
            )
        except Exception as exc:  # never let one row break the run
            log.exception("delivery %s crashed", job.delivery_id)
            return DeliveryResult(None, "retry", error=f"{type(exc).__name__}: {exc}")

    def _flush_soon(self) -> None:
        """Start writing the finished outcomes unless a flush is already running."""
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
            # A failed flush is logged in _flush; mark its exception as seen.
            self._flusher.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _flush_all(self) -> None:
        """Wait for the running flush, then write whatever is left (errors propagate)."""
        self._draining = True
        self._enough.set()
        if self._flusher is not None:
            flusher, self._flusher = self._flusher, None
            await flusher
        await self._flush()

    async def _flush(self) -> None:
        """Write the finished outcomes, one transaction per batch, until none are left.

        The fewer POSTs that are answered but not yet recorded, the fewer duplicates a crash
        can cause, so the flush runs while the POSTs go on; it gathers up to half the
        concurrency's outcomes (or waits ``FLUSH_WAIT_SECONDS``) per transaction, and writes
        the successes of a batch with one statement.
        """
        if self._write_lock.locked():
            return  # the holder loops until the pending list is empty
        async with self._write_lock:
            while self._pending:
                if len(self._pending) < self._flush_size and not self._draining:
                    self._enough.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._enough.wait(), FLUSH_WAIT_SECONDS)
                batch, self._pending = self._pending, []
                try:
                    async with self._db_lock, self.state.db.session() as db:
                        await self._record(db, batch)
                except Exception:
                    # The rows keep their leases and are sent again once those run out;
                    # receivers deduplicate by activity id.
                    log.exception("recording %d delivery outcomes failed", len(batch))
                    raise

    async def _record(self, db: AsyncSession, batch: list[tuple[_Job, DeliveryResult]]) -> None:
        now = utcnow()
        delivered: dict[int | None, list[int]] = {}
        for job, result in batch:
            if result.outcome == "delivered":
                delivered.setdefault(result.status, []).append(job.delivery_id)
                continue
            values: dict[str, object] = {
                "claimed_until": None,
                "last_status": result.status,
                "last_error": (result.error or None) and str(result.error)[:2000],
                "attempts": job.attempts + 1,
            }
            if result.outcome == "gone":
                values["state"] = "gone"
                await db.execute(
                    update(Actor)
                    .where(
                        Actor.inbox == job.inbox_url,
                        Actor.local.is_(False),
                        Actor.gone_at.is_(None),
                    )
                    .values(gone_at=now)
                )
            elif result.outcome == "final":
                values["state"] = "failed"
            elif now - job.created_at >= GIVE_UP_AFTER:
                values["state"] = "gave_up"
            else:
                values["next_try_at"] = now + backoff(job.attempts + 1, result.retry_after)
            await db.execute(
                update(Delivery).where(Delivery.id == job.delivery_id).values(**values)
            )
        for status, ids in delivered.items():
            await db.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(
                    state="delivered",
                    delivered_at=now,
                    claimed_until=None,
                    last_status=status,
                    last_error=None,
                    attempts=Delivery.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        await self._domain_health(db, batch, now)

    async def _domain_health(
        self, db: AsyncSession, batch: list[tuple[_Job, DeliveryResult]], now: datetime
    ) -> None:
        """Count consecutive transient failures per domain; pause or reset accordingly."""
        failing = {job.domain for job, result in batch if result.outcome == "retry"}
        domains = {job.domain for job, _ in batch}
        rows = {
            h.domain: h
            for h in await db.scalars(select(DomainHealth).where(DomainHealth.domain.in_(domains)))
        }
        for domain in sorted(failing - rows.keys()):
            # Healthy domains need no row; create one at the first failure.
            await db.execute(insert_ignore(db, DomainHealth, ["domain"]).values(domain=domain))
            created = await db.get(DomainHealth, domain)
            assert created is not None
            rows[domain] = created
        for job, result in batch:
            health = rows.get(job.domain)
            if health is None:
                continue
            if result.outcome != "retry":
                # Any answer but a transient failure (even a 4xx) shows the server is up.
                health.consecutive_failures = 0
                health.paused_until = None
                health.pause_level = 0
                health.last_success_at = now
                continue
            health.consecutive_failures += 1
            health.last_failure_at = now
            paused = health.paused_until is not None and health.paused_until > now
            if health.consecutive_failures >= PAUSE_AFTER_FAILURES and not paused:
                health.pause_level += 1
                health.paused_until = now + pause_length(health.pause_level)
                health.consecutive_failures = 0
                log.warning("pausing deliveries to %s until %s", job.domain, health.paused_until)
