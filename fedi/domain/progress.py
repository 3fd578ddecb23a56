"""Progress of an initiative: tasks done, contributions accepted, partners, time elapsed.

One ``Progress`` value feeds the figure on the initiative page (an accessible progress
bar with the same numbers as text) and the cards on the tribe's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Contribution, Initiative, InitiativePartner, InitiativeSupporter, Task


@dataclass(frozen=True)
class Progress:
    """The numbers of one initiative."""

    tasks_total: int
    tasks_done: int
    contributions_accepted: int
    contributions_open: int
    hours_accepted: int
    partners: int
    supporters: int
    # None when the initiative has no start and end date.
    days_total: int | None
    days_elapsed: int | None

    @property
    def task_percent(self) -> int:
        """Share of tasks done, 0-100."""
        return round(100 * self.tasks_done / self.tasks_total) if self.tasks_total else 0

    @property
    def time_percent(self) -> int | None:
        """Share of the planned time gone by, 0-100, or None without dates."""
        if self.days_total is None or self.days_elapsed is None:
            return None
        if self.days_total <= 0:
            return 100 if self.days_elapsed >= 0 else 0
        return max(0, min(100, round(100 * self.days_elapsed / self.days_total)))


def _time(initiative: Initiative, today: date) -> tuple[int | None, int | None]:
    if initiative.start_date is None or initiative.end_date is None:
        return None, None
    total = (initiative.end_date - initiative.start_date).days
    elapsed = max(0, min(total, (today - initiative.start_date).days))
    return total, elapsed


async def progress_of(
    db: AsyncSession, initiative: Initiative, today: date | None = None
) -> Progress:
    """Count everything for ``initiative`` (``today`` can be fixed for tests)."""
    total = await db.scalar(select(func.count(Task.id)).where(Task.initiative_id == initiative.id))
    done = await db.scalar(
        select(func.count(Task.id)).where(
            Task.initiative_id == initiative.id, Task.completed_at.is_not(None)
        )
    )
    rows = await db.execute(
        select(Contribution.state, func.count(Contribution.id), func.sum(Contribution.hours))
        .where(Contribution.initiative_id == initiative.id)
        .group_by(Contribution.state)
    )
    states = {state: (int(count), int(hours or 0)) for state, count, hours in rows.all()}
    partners = await db.scalar(
        select(func.count(InitiativePartner.id)).where(
            InitiativePartner.initiative_id == initiative.id, InitiativePartner.state == "active"
        )
    )
    supporters = await db.scalar(
        select(func.count(InitiativeSupporter.id)).where(
            InitiativeSupporter.initiative_id == initiative.id
        )
    )
    days_total, days_elapsed = _time(initiative, today or date.today())
    return Progress(
        tasks_total=int(total or 0),
        tasks_done=int(done or 0),
        contributions_accepted=states.get("accepted", (0, 0))[0],
        contributions_open=states.get("proposed", (0, 0))[0],
        hours_accepted=states.get("accepted", (0, 0))[1],
        partners=int(partners or 0),
        supporters=int(supporters or 0),
        days_total=days_total,
        days_elapsed=days_elapsed,
    )
