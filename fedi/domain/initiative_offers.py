"""The offers of help of a whole initiative, for its overview page (a task's own offers are
``contributions.for_task``)."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Contribution, Initiative, Task

__all__ = ["OFFERS_SHOWN", "recent_offers"]

OFFERS_SHOWN = 12


async def recent_offers(
    db: AsyncSession, initiative: Initiative, *, limit: int = OFFERS_SHOWN
) -> list[tuple[Contribution, str]]:
    """Open and accepted offers with their task's name: open ones first (they wait for a
    decision), then the newest accepted ones."""
    waiting_first = case((Contribution.state == "proposed", 0), else_=1)
    rows = await db.execute(
        select(Contribution, Task.name)
        .join(Task, Task.id == Contribution.task_id)
        .where(
            Contribution.initiative_id == initiative.id,
            Contribution.state.in_(("proposed", "accepted")),
        )
        .order_by(waiting_first, Contribution.created_at.desc(), Contribution.id.desc())
        .limit(limit)
    )
    return [(offer, str(name)) for offer, name in rows.unique().all()]
