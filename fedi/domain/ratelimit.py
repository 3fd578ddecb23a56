"""Rate limits counted in the database, so they hold across web processes and under concurrency.

Each limit has buckets ("login-ip:1.2.3.4"); each bucket has one ``rate_limit_hits`` row per
time window holding the number of attempts in it. :func:`take` claims a slot BEFORE the
expensive or risky work (Argon2, creating an account) with one atomic statement::

    INSERT ... VALUES (bucket, window, 1)
    ON CONFLICT (bucket, window) DO UPDATE SET hits = hits + 1 WHERE hits < cap
    RETURNING hits

so 40 concurrent requests for one bucket get at most ``count`` slots between them (a check
followed later by a record let all 40 through). A limit that should count only successes
(registrations, successful logins do not count at all) hands the slot back with
:func:`give_back` when the attempt did not succeed.

The window slides: the previous window's attempts still count, in proportion to how much
of it lies within ``window`` of now (rounded up), so a burst at a window boundary cannot
double the limit. (An estimate that assumes the previous window's attempts were spread
evenly; exact counting would need a row per attempt, which is what could not be atomic.)
Old rows are pruned as we go.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from fedi.domain.errors import RateLimited
from models import RateLimitHit

# Windows older than this are useless for every limit we have.
_PRUNE_AFTER = int(timedelta(days=1).total_seconds())
_MESSAGE = "Too many attempts. Please wait a few minutes and try again."


@dataclass(frozen=True)
class Limit:
    """At most ``count`` attempts per ``window`` in each bucket of ``name`` (0: no limit)."""

    name: str
    count: int
    window: timedelta

    def bucket(self, key: str) -> str:
        """The bucket name for one key (an IP address, an account name)."""
        return f"{self.name}:{key}"[:255]

    @property
    def seconds(self) -> int:
        """The window length in whole seconds (at least 1)."""
        return max(1, int(self.window.total_seconds()))


@dataclass(frozen=True)
class Ticket:
    """A slot taken with :func:`take`; hand it to :func:`give_back` to return it."""

    bucket: str
    window_start: int


class LimitReached(RateLimited):
    """A :class:`RateLimited` that knows when trying again makes sense."""

    def __init__(self, retry_after: int) -> None:
        """Refuse, suggesting a retry after ``retry_after`` seconds."""
        super().__init__(_MESSAGE)
        self.retry_after = retry_after


LOGIN_PER_IP = Limit("login-ip", 10, timedelta(minutes=5))
LOGIN_PER_ACCOUNT = Limit("login-account", 10, timedelta(minutes=5))
REGISTER_PER_IP = Limit("register-ip", 20, timedelta(hours=1))
# Password reset links and password changes: each attempt costs an Argon2 hash or guesses
# a token, so they are counted whether or not they succeed.
RESET_PER_IP = Limit("reset-ip", 10, timedelta(minutes=15))
PASSWORD_CHANGE_PER_ACCOUNT = Limit("password-account", 10, timedelta(minutes=15))
# "Forgot password" mails (issue 12): per address against mail bombing through the form,
# per account so one inbox gets at most a few reset mails an hour whoever asks.
RESET_MAIL_PER_IP = Limit("reset-mail-ip", 5, timedelta(minutes=15))
RESET_MAIL_PER_ACCOUNT = Limit("reset-mail-account", 3, timedelta(hours=1))
CONFIRM_MAIL_PER_ACCOUNT = Limit("confirm-mail-account", 3, timedelta(hours=1))
# Mastodon's default for statuses: 300 per 3 hours per account.
POSTS_PER_ACCOUNT = Limit("post-account", 300, timedelta(hours=3))


def register_limit(per_hour: int) -> Limit:
    """The registration limit per address with the configured hourly count."""
    return Limit(REGISTER_PER_IP.name, per_hour, REGISTER_PER_IP.window)


def posts_limit(per_3_hours: int) -> Limit:
    """The posting limit per account with the configured count per 3 hours."""
    return Limit(POSTS_PER_ACCOUNT.name, per_3_hours, POSTS_PER_ACCOUNT.window)


async def take_post(db: AsyncSession, per_3_hours: int, author_id: int) -> None:
    """Count one post by a local person (a note, a tribe post, an initiative message or
    comment), atomically in the caller's transaction, or raise :class:`LimitReached`.

    Taken before the post is written and rolled back with it when the post fails, so the
    web forms, the C2S outbox and replies all count once.
    """
    await take(db, posts_limit(per_3_hours), str(author_id))


def _window(limit: Limit, now: float) -> tuple[int, float]:
    """The start of the current window and how far into it ``now`` is (0..1)."""
    start = int(now // limit.seconds) * limit.seconds
    return start, (now - start) / limit.seconds


def _retry_after(limit: Limit, now: float) -> int:
    start, _ = _window(limit, now)
    return max(1, math.ceil(start + limit.seconds - now))


async def _hits(db: AsyncSession, bucket: str, window_start: int) -> int:
    found = await db.scalar(
        select(RateLimitHit.hits).where(
            RateLimitHit.bucket == bucket, RateLimitHit.window_start == window_start
        )
    )
    return int(found or 0)


async def _carried_over(db: AsyncSession, limit: Limit, bucket: str, now: float) -> int:
    """How many of the previous window's attempts still count now (rounded up: strict)."""
    start, into = _window(limit, now)
    previous = await _hits(db, bucket, start - limit.seconds)
    return math.ceil(previous * (1.0 - into))


def _upsert(
    db: AsyncSession, bucket: str, window_start: int, cap: int
) -> ReturningInsert[tuple[int]]:
    """``INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 WHERE hits < cap``."""
    values = {"bucket": bucket, "window_start": window_start, "hits": 1}
    stmt: postgresql.Insert | sqlite.Insert
    if db.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(RateLimitHit).values(values)
    else:
        stmt = sqlite.insert(RateLimitHit).values(values)
    return stmt.on_conflict_do_update(
        index_elements=[RateLimitHit.bucket, RateLimitHit.window_start],
        set_={"hits": RateLimitHit.hits + 1},
        where=RateLimitHit.hits < cap,
    ).returning(RateLimitHit.hits)


async def take(db: AsyncSession, limit: Limit, key: str, *, now: float | None = None) -> Ticket:
    """Claim one attempt in the bucket of ``key`` atomically, or raise :class:`LimitReached`.

    Commit soon after: on PostgreSQL the bucket's row stays locked until then, which is what
    makes concurrent takers queue up instead of all reading the same count.
    """
    bucket = limit.bucket(key)
    current = time.time() if now is None else now
    start, _ = _window(limit, current)
    if limit.count <= 0:
        return Ticket(bucket, start)  # the limit is switched off
    cap = limit.count - await _carried_over(db, limit, bucket, current)
    if cap <= 0:
        raise LimitReached(_retry_after(limit, current))
    hits = await db.scalar(_upsert(db, bucket, start, cap))
    if hits is None:  # the row exists and is full: the WHERE refused the update
        raise LimitReached(_retry_after(limit, current))
    await _maybe_prune(db, current)
    return Ticket(bucket, start)


async def give_back(db: AsyncSession, ticket: Ticket) -> None:
    """Return a slot taken with :func:`take` (the attempt is not one the limit counts)."""
    await db.execute(
        update(RateLimitHit)
        .where(
            RateLimitHit.bucket == ticket.bucket,
            RateLimitHit.window_start == ticket.window_start,
            RateLimitHit.hits > 0,
        )
        .values(hits=RateLimitHit.hits - 1)
    )


async def reset(db: AsyncSession, limit: Limit, key: str) -> None:
    """Forget the attempts of one bucket (after a successful login for that account)."""
    await db.execute(delete(RateLimitHit).where(RateLimitHit.bucket == limit.bucket(key)))


async def _maybe_prune(db: AsyncSession, now: float) -> None:
    # Now and then rather than on every hit: one cheap indexed delete per ~20 hits.
    if random.random() < 0.05:
        await db.execute(
            delete(RateLimitHit).where(RateLimitHit.window_start < int(now) - _PRUNE_AFTER)
        )
