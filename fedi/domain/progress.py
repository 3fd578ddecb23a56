"""Progress of an initiative: tasks done, contributions accepted, partners, time elapsed.

One ``Progress`` value feeds the figure on the initiative page (an accessible progress
bar with the same numbers as text) and the cards on the tribe's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Integer, bindparam, func, select
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


def _count(column: Any, *conditions: ColumnElement[bool]) -> Any:
    return select(func.count(column)).where(*conditions).scalar_subquery()


_ID: BindParameter[int] = bindparam("initiative_id", type_=Integer)
_ACCEPTED = (Contribution.initiative_id == _ID, Contribution.state == "accepted")
# Built once (every initiative page shows these numbers).
_COUNTS = select(
    _count(Task.id, Task.initiative_id == _ID),
    _count(Task.id, Task.initiative_id == _ID, Task.completed_at.is_not(None)),
    _count(Contribution.id, *_ACCEPTED),
    _count(Contribution.id, Contribution.initiative_id == _ID, Contribution.state == "proposed"),
    select(func.coalesce(func.sum(Contribution.hours), 0)).where(*_ACCEPTED).scalar_subquery(),
    _count(
        InitiativePartner.id,
        InitiativePartner.initiative_id == _ID, InitiativePartner.state == "active",
    ),
    _count(InitiativeSupporter.id, InitiativeSupporter.initiative_id == _ID),
)


async def progress_of(
    db: AsyncSession, initiative: Initiative, today: date | None = None
) -> Progress:
    """Count everything for ``initiative`` (``today`` can be fixed for tests).

    One statement of counting subqueries (each read through its index), not one per number.
    """
    row = (await db.execute(_COUNTS, {"initiative_id": initiative.id})).one()
    total, done, accepted_count, proposed, hours, partners, supporters = (
        int(value or 0) for value in row
    )
    days_total, days_elapsed = _time(initiative, today or date.today())
    return Progress(
        tasks_total=total,
        tasks_done=done,
        contributions_accepted=accepted_count,
        contributions_open=proposed,
        hours_accepted=hours,
        partners=partners,
        supporters=supporters,
        days_total=days_total,
        days_elapsed=days_elapsed,
    )
