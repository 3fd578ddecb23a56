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
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.delivery import DeliveryResult, post_activity
from activitypub.sigbase import SigningKey
from fedi.federation.dbutil import insert_ignore
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from models import Actor, Delivery, DomainHealth, OutboxActivity, utcnow

__all__ = [
    "BASE_DELAY",
    "GIVE_UP_AFTER",
    "MAX_DELAY",
    "PAUSE_AFTER_FAILURES",
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


@dataclass
class _Job:
    delivery_id: int
    inbox_url: str
    domain: str
    attempts: int
    created_at: datetime
    activity_id: int
    actor_id: int


class DeliveryWorker:
    """Claims due deliveries and POSTs them concurrently through one shared HTTP client."""

    def __init__(
        self,
        state: AppState,
        *,
        concurrency: int | None = None,
        lease: timedelta = DEFAULT_LEASE,
        timeout: float = 15.0,
    ) -> None:
        """Create a worker; ``concurrency`` defaults to ``settings.delivery_concurrency``."""
        self.state = state
        self.concurrency = max(1, concurrency or state.settings.delivery_concurrency)
        self.lease = lease
        self.timeout = timeout
        self._keys: dict[int, SigningKey] = {}
        self._write_lock = asyncio.Lock()
        self._pending: list[tuple[_Job, DeliveryResult]] = []

    async def run_once(self, limit: int = 256) -> int:
        """Claim up to ``limit`` due rows, send them, record outcomes; return how many."""
        now = utcnow()
        async with self.state.db.session() as db:
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
                return 0
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
            bodies = await self._bodies(db, {job.activity_id for job in jobs})
            await self._load_keys(db, {job.actor_id for job in jobs})
        semaphore = asyncio.Semaphore(self.concurrency)

        async def send(job: _Job) -> None:
            async with semaphore:
                result = await self._post(job, bodies.get(job.activity_id))
            self._pending.append((job, result))
            await self._flush()

        await asyncio.gather(*(send(job) for job in jobs))
        await self._flush()
        return len(jobs)

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
        except Exception as exc:  # never let one row break the batch
            log.exception("delivery %s crashed", job.delivery_id)
            return DeliveryResult(None, "retry", error=f"{type(exc).__name__}: {exc}")

    async def _flush(self) -> None:
        """Write every finished outcome so far, in one transaction per flush.

        The fewer POSTs that are answered but not yet recorded, the fewer duplicates a crash
        can cause; successes are therefore written with one statement per batch.
        """
        if self._write_lock.locked():
            return  # the holder loops until the pending list is empty
        async with self._write_lock:
            while self._pending:
                batch, self._pending = self._pending, []
                async with self.state.db.session() as db:
                    await self._record(db, batch)

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
