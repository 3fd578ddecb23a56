"""Claiming due queue rows so that concurrent workers never take the same row.

A claim is a lease: ``claimed_until`` is set a couple of minutes ahead. A worker that is
killed simply lets its leases expire and another worker (or the restarted one) takes the rows
again; nothing is marked done before its work really finished.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other transaction holds, then
the lease is written in the same transaction, so any number of ``fedi worker`` processes can
run side by side. SQLite has one writer at a time: the claim is a conditional
``UPDATE ... WHERE claimed_until is free ... RETURNING id``, which is atomic under SQLite's
write lock, so two processes racing for a row cannot both win it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.dbutil import is_postgres

DEFAULT_LEASE = timedelta(minutes=2)


def free_lease(model: Any, now: datetime) -> ColumnElement[bool]:
    """Rows that nobody holds: never claimed, or their lease has run out."""
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


async def claim_due(
    db: AsyncSession,
    model: Any,
    *,
    now: datetime,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
    where: list[ColumnElement[bool]] | None = None,
) -> list[int]:
    """Lease up to ``limit`` pending rows of ``model`` whose ``next_try_at`` is due.

    Returns the claimed ids, oldest due first. The caller's session must be committed
    right after (the lease is only visible to others once committed).
    """
    conditions: list[ColumnElement[bool]] = [
        model.state == "pending",
        model.next_try_at <= now,
        free_lease(model, now),
        *(where or []),
    ]
    until = now + lease
    if is_postgres(db):
        ids = list(
            await db.scalars(
                select(model.id)
                .where(*conditions)
                .order_by(model.next_try_at, model.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            await db.execute(
                update(model)
                .where(model.id.in_(ids))
                .values(claimed_until=until)
                .execution_options(synchronize_session=False)
            )
        return ids
    candidates = (
        select(model.id).where(*conditions).order_by(model.next_try_at, model.id).limit(limit)
    )
    result = await db.execute(
        update(model)
        .where(model.id.in_(candidates), free_lease(model, now))
        .values(claimed_until=until)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars().all())
