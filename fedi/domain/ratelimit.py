"""Rate limits counted in the database, so they hold across web processes.

Each attempt is one ``rate_limit_hits`` row in a bucket ("login-ip:1.2.3.4"). A check
counts the rows of the bucket inside the window. Old rows are pruned as we go.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import RateLimited
from models import RateLimitHit, utcnow

# Rows older than this are useless for every limit we have.
_PRUNE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` attempts per ``window`` in each bucket of ``name``."""

    name: str
    count: int
    window: timedelta

    def bucket(self, key: str) -> str:
        """The bucket name for one key (an IP address, an account name)."""
        return f"{self.name}:{key}"[:255]


LOGIN_PER_IP = Limit("login-ip", 10, timedelta(minutes=5))
LOGIN_PER_ACCOUNT = Limit("login-account", 10, timedelta(minutes=5))
REGISTER_PER_IP = Limit("register-ip", 5, timedelta(hours=1))


async def check(db: AsyncSession, limit: Limit, key: str) -> None:
    """Raise ``RateLimited`` when the bucket of ``key`` is full."""
    since = utcnow() - limit.window
    count = await db.scalar(
        select(func.count(RateLimitHit.id)).where(
            RateLimitHit.bucket == limit.bucket(key), RateLimitHit.at > since
        )
    )
    if (count or 0) >= limit.count:
        raise RateLimited("Too many attempts. Please wait a few minutes and try again.")


async def record(db: AsyncSession, limit: Limit, key: str) -> None:
    """Count one attempt against the bucket of ``key``."""
    db.add(RateLimitHit(bucket=limit.bucket(key), at=utcnow()))
    # Prune now and then rather than on every hit: one cheap indexed delete per ~20 hits.
    if random.random() < 0.05:
        await db.execute(delete(RateLimitHit).where(RateLimitHit.at < utcnow() - _PRUNE_AFTER))
    await db.flush()


async def reset(db: AsyncSession, limit: Limit, key: str) -> None:
    """Forget the attempts of one bucket (after a successful login for that account)."""
    await db.execute(delete(RateLimitHit).where(RateLimitHit.bucket == limit.bucket(key)))
