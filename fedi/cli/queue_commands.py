"""``fedi queue status`` and ``fedi queue retry``: look at and nudge the delivery queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import click
from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.cli.common import cli, echo_table, run_with_db
from fedi.db import Database
from fedi.settings import Settings
from models import Delivery, DomainHealth, InboxItem, utcnow


@cli.group("queue", help="Inspect and retry the outgoing delivery queue.")
def queue_group() -> None:
    """The ``queue`` command group."""


@dataclass
class QueueSummary:
    """What ``fedi queue status`` prints."""

    totals: dict[str, int]
    due: int
    inbox: dict[str, int]
    # (domain, pending, failed, gave_up, consecutive failures, paused until or "-")
    domains: list[tuple[str, int, int, int, int, str]]


async def queue_summary(db: AsyncSession, now: datetime) -> QueueSummary:
    """Counts of deliveries by state, due vs waiting, inbox items, and per-domain trouble."""
    totals = dict(
        (await db.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all()
    )
    due = await db.scalar(
        select(func.count()).where(Delivery.state == "pending", Delivery.next_try_at <= now)
    )
    inbox = dict(
        (await db.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))).all()
    )
    pending = case((Delivery.state == "pending", 1), else_=0)
    failed = case((Delivery.state == "failed", 1), else_=0)
    gave_up = case((Delivery.state == "gave_up", 1), else_=0)
    rows = (
        await db.execute(
            select(
                Delivery.domain,
                func.sum(pending),
                func.sum(failed),
                func.sum(gave_up),
            )
            .where(Delivery.state.in_(("pending", "failed", "gave_up")))
            .group_by(Delivery.domain)
            .order_by(func.sum(pending).desc(), Delivery.domain)
        )
    ).all()
    health = {h.domain: h for h in await db.scalars(select(DomainHealth))}
    domains: list[tuple[str, int, int, int, int, str]] = []
    for domain, n_pending, n_failed, n_gave_up in rows:
        h = health.get(domain)
        paused = h.paused_until if h is not None else None
        if paused is not None and paused <= now:
            paused = None
        domains.append(
            (
                domain,
                int(n_pending or 0),
                int(n_failed or 0),
                int(n_gave_up or 0),
                h.consecutive_failures if h is not None else 0,
                paused.strftime("%Y-%m-%d %H:%M:%S") if paused else "-",
            )
        )
    return QueueSummary(
        {str(k): int(v) for k, v in totals.items()},
        int(due or 0),
        {str(k): int(v) for k, v in inbox.items()},
        domains,
    )


@queue_group.command("status", help="Show pending, failed and given-up deliveries per domain.")
def status_command() -> None:
    """Print the queue summary."""

    async def work(settings: Settings, db: Database) -> QueueSummary:
        async with db.session() as session:
            return await queue_summary(session, utcnow())

    summary = run_with_db(work)
    totals = summary.totals
    pending = totals.get("pending", 0)
    click.echo(
        f"deliveries: pending {pending} (due now {summary.due}, waiting {pending - summary.due}),"
        f" delivered {totals.get('delivered', 0)}, failed {totals.get('failed', 0)},"
        f" gave up {totals.get('gave_up', 0)}, gone {totals.get('gone', 0)}"
    )
    click.echo(
        "inbox: "
        + ", ".join(
            f"{name} {summary.inbox.get(name, 0)}"
            for name in ("pending", "done", "ignored", "failed")
        )
    )
    if summary.domains:
        click.echo("")
        echo_table(
            list(summary.domains),
            ("domain", "pending", "failed", "gave_up", "failures", "paused_until"),
        )


async def retry_now(db: AsyncSession, domain: str | None, now: datetime) -> tuple[int, int]:
    """Make waiting deliveries due now and lift domain pauses; return (rows, domains)."""
    rows = update(Delivery).where(Delivery.state == "pending", Delivery.next_try_at > now)
    pauses = update(DomainHealth).where(
        (DomainHealth.paused_until.is_not(None)) | (DomainHealth.consecutive_failures > 0)
    )
    if domain:
        rows = rows.where(Delivery.domain == domain)
        pauses = pauses.where(DomainHealth.domain == domain)
    moved = await db.execute(rows.values(next_try_at=now))
    lifted = await db.execute(
        pauses.values(paused_until=None, consecutive_failures=0, pause_level=0)
    )
    return int(moved.rowcount or 0), int(lifted.rowcount or 0)  # type: ignore[attr-defined]


@queue_group.command("retry", help="Make waiting deliveries due now and unpause their domains.")
@click.option("--domain", default=None, help="Only this domain (host[:port]).")
def retry_command(domain: str | None) -> None:
    """Retry now."""

    async def work(settings: Settings, db: Database) -> tuple[int, int]:
        async with db.session() as session:
            return await retry_now(session, domain.lower() if domain else None, utcnow())

    moved, lifted = run_with_db(work)
    where = f" for {domain}" if domain else ""
    click.echo(f"{moved} deliveries{where} due now; {lifted} domain(s) unpaused")
