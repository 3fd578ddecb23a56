"""Tasks due tomorrow: the people whose help was accepted for a task hear of it the day before.

The digest sweep (``fedi.workers.digest``) calls :func:`notify_due_tasks` now and then. A
task has no single assignee: the people whose contribution to it was accepted are the ones
doing it. Each of them is told once per task and due date (a later due date is news again),
so sweeping often, or from two worker processes, repeats nothing but a rare race.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.notifications import notify
from models import Actor, Contribution, Initiative, Notification, Task

__all__ = ["notify_due_tasks"]


async def _told(db: AsyncSession, person_id: int, task: Task) -> bool:
    rows = await db.scalars(
        select(Notification).where(
            Notification.recipient_id == person_id,
            Notification.kind == "task_due",
            Notification.initiative_id == task.initiative_id,
        )
    )
    due = task.due_date.isoformat() if task.due_date else ""
    return any(
        (row.payload or {}).get("task_id") == task.id and (row.payload or {}).get("due") == due
        for row in rows.unique().all()
    )


async def notify_due_tasks(db: AsyncSession, now: datetime) -> int:
    """Tell the helpers of every open task due the day after ``now``; how many were told."""
    tomorrow = (now + timedelta(days=1)).date()
    rows = await db.execute(
        select(Task, Initiative)
        .join(Initiative, Initiative.id == Task.initiative_id)
        .where(
            Task.due_date == tomorrow,
            Task.completed_at.is_(None),
            Initiative.deleted_at.is_(None),
            Initiative.archived_at.is_(None),
        )
    )
    told = 0
    for task, initiative in rows.unique().all():
        helpers = await db.scalars(
            select(Actor)
            .join(Contribution, Contribution.actor_id == Actor.id)
            .where(Contribution.task_id == task.id, Contribution.state == "accepted")
        )
        for person in helpers.unique().all():
            if not person.local or await _told(db, person.id, task):
                continue
            made = await notify(
                db, [person], "task_due", initiative_id=initiative.id,
                payload={
                    "task": task.name, "task_id": task.id, "initiative": initiative.name,
                    "due": tomorrow.isoformat(),
                },
            )
            told += len(made)
    return told
