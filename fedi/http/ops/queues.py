"""The inbox and delivery queues as an operator sees them, read from their rows.

The worker runs in another process (``fedi worker``, or the child ``fedi serve`` keeps),
so what it has done is read from the database rather than from counters in memory: every
received activity is an ``InboxItem`` row and every outgoing POST a ``Delivery`` row, and
rows are kept after they are finished, so counts by state are the totals since the start.

Each query is one indexed count or minimum (``ix_inbox_items_state_next``,
``ix_deliveries_state_next``, ``ix_deliveries_domain_state``). Deliveries by domain are
reported for the ``top`` domains with the most rows only; the rest are summed under
``(other)``, so the number of series stays bounded however many servers we talk to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, DomainHealth, InboxItem

__all__ = ["OTHER_DOMAINS", "QueueAges", "QueueSnapshot", "read_queue_ages", "read_snapshot"]

OTHER_DOMAINS = "(other)"


@dataclass
class QueueAges:
    """How many due rows wait in each queue and how long the oldest has been due."""

    inbox_due: int = 0
    inbox_oldest_due_seconds: float = 0.0
    delivery_due: int = 0
    delivery_oldest_due_seconds: float = 0.0


@dataclass
class QueueSnapshot:
    """Everything ``/metrics`` reports about the queues, counted at one moment."""

    ages: QueueAges
    inbox_states: dict[str, int] = field(default_factory=dict)
    delivery_states: dict[str, int] = field(default_factory=dict)
    paused_domains: int = 0
    # (domain, state, rows) for the top domains, the rest under OTHER_DOMAINS.
    by_domain: list[tuple[str, str, int]] = field(default_factory=list)


def _age(now: datetime, oldest: datetime | None) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


async def read_queue_ages(db: AsyncSession, now: datetime) -> QueueAges:
    """Due rows and the age of the oldest due row, for the inbox and the deliveries.

    Deliveries to a paused domain (one that keeps failing, see ``DomainHealth``) are left
    out: they wait on purpose, and a remote server being down is no fault of ours.
    """
    inbox_due, inbox_oldest = (
        await db.execute(
            select(func.count(), func.min(InboxItem.next_try_at)).where(
                InboxItem.state == "pending", InboxItem.next_try_at <= now
            )
        )
    ).one()
    paused = select(DomainHealth.domain).where(DomainHealth.paused_until > now)
    delivery_due, delivery_oldest = (
        await db.execute(
            select(func.count(), func.min(Delivery.next_try_at)).where(
                Delivery.state == "pending",
                Delivery.next_try_at <= now,
                Delivery.domain.not_in(paused),
            )
        )
    ).one()
    return QueueAges(
        inbox_due=int(inbox_due or 0),
        inbox_oldest_due_seconds=_age(now, inbox_oldest),
        delivery_due=int(delivery_due or 0),
        delivery_oldest_due_seconds=_age(now, delivery_oldest),
    )


async def read_snapshot(db: AsyncSession, now: datetime, *, top: int) -> QueueSnapshot:
    """Counts by state for both queues, paused domains and deliveries of the top domains."""
    snapshot = QueueSnapshot(ages=await read_queue_ages(db, now))
    inbox = await db.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
    snapshot.inbox_states = {str(state): int(n) for state, n in inbox.all()}
    deliveries = await db.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    snapshot.delivery_states = {str(state): int(n) for state, n in deliveries.all()}
    snapshot.paused_domains = int(
        await db.scalar(
            select(func.count()).select_from(DomainHealth).where(DomainHealth.paused_until > now)
        )
        or 0
    )
    rows = (
        await db.execute(
            select(Delivery.domain, Delivery.state, func.count()).group_by(
                Delivery.domain, Delivery.state
            )
        )
    ).all()
    totals: dict[str, int] = {}
    for domain, _state, n in rows:
        totals[domain] = totals.get(domain, 0) + int(n)
    kept = set(sorted(totals, key=lambda d: (-totals[d], d))[:top])
    merged: dict[tuple[str, str], int] = {}
    for domain, state, n in rows:
        key = (domain if domain in kept else OTHER_DOMAINS, str(state))
        merged[key] = merged.get(key, 0) + int(n)
    snapshot.by_domain = [(d, s, n) for (d, s), n in sorted(merged.items())]
    return snapshot
