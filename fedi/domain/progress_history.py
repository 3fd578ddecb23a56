"""An initiative's progress over time: tasks, tasks done and hours accepted, day by day.

Feeds the chart on the initiative page (``templates/initiatives/_chart.html``). The numbers
are read from what the rows say now (a task's ``created_at`` and ``completed_at``, an accepted
offer's ``decided_at`` and hours): a task reopened later no longer counts as done on the day
it was first finished, so the chart always agrees with the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Integer, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models import Contribution, Initiative, Task

__all__ = ["MAX_POINTS", "ProgressPoint", "progress_series"]

# A chart of more points than this reads no better; longer initiatives are sampled evenly.
MAX_POINTS = 30


@dataclass(frozen=True)
class ProgressPoint:
    """The totals at the end of ``day``."""

    day: date
    tasks: int
    done: int
    hours: int


# Built once (and its cache key computed once), the initiative bound per call: the page
# runs it on every view.
_INITIATIVE_ID = bindparam("initiative_id", type_=Integer)
_ROWS: CompoundSelect[Any] = union_all(
    select(
        literal("task").label("row_kind"), Task.created_at.label("first_at"),
        Task.completed_at.label("done_at"), literal(0).label("hours"),
    ).where(Task.initiative_id == _INITIATIVE_ID),
    select(
        literal("offer"), Contribution.decided_at, Contribution.decided_at,
        Contribution.hours,
    ).where(
        Contribution.initiative_id == _INITIATIVE_ID,
        Contribution.state == "accepted",
    ),
)


def _days(start: date, end: date) -> list[date]:
    span = (end - start).days
    if span + 1 <= MAX_POINTS:
        return [start + timedelta(days=n) for n in range(span + 1)]
    step = span / (MAX_POINTS - 1)
    picked = {start + timedelta(days=round(n * step)) for n in range(MAX_POINTS)}
    return sorted(picked | {end})


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


async def progress_series(
    db: AsyncSession, initiative: Initiative, today: date | None = None
) -> list[ProgressPoint]:
    """The totals from the day the initiative started (or its first task) until ``today``.

    One small read (an initiative has tens or hundreds of tasks, not millions).
    """
    end = today or date.today()
    # One statement for both (the page's statement budget is counted in
    # tests/web/test_member_pages_cost.py): tasks with their dates, accepted offers with theirs.
    rows: list[Any] = list(
        (await db.execute(_ROWS, {"initiative_id": initiative.id})).all()
    )
    tasks = [(first, done) for kind, first, done, _h in rows if kind == "task"]
    offers = [(at, h) for kind, at, _d, h in rows if kind == "offer"]
    created = [_day(c) for c, _done in tasks]
    finished = [_day(d) for _c, d in tasks if d is not None]
    hours = [(_day(at), int(h or 0)) for at, h in offers]
    known = [d for d in (*created, *finished, *(d for d, _h in hours)) if d is not None]
    start = min([_day(initiative.created_at) or end, *known])
    start = min(start, end)
    points = []
    for day in _days(start, end):
        points.append(ProgressPoint(
            day=day,
            tasks=sum(1 for d in created if d is not None and d <= day),
            done=sum(1 for d in finished if d is not None and d <= day),
            hours=sum(h for d, h in hours if d is not None and d <= day),
        ))
    return points
