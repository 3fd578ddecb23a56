"""An initiative's board: lanes (default "Backlog") holding tasks in order.

Active partners manage lanes and tasks (add, edit, move, complete, reopen, delete); the
board of an archived initiative is read-only. Positions are kept dense (0, 1, 2...) per
lane, so "move to position 2" means the third place. Each change writes a history entry
and emits its domain event (``events_initiatives``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import notifications
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_initiatives import (
    TaskCreated,
    TaskDeleted,
    TaskReopened,
    TaskResolved,
    TaskUpdated,
)
from fedi.domain.initiative_access import (
    active_partners,
    require_open,
    require_partner,
    supporters,
)
from fedi.domain.initiative_fields import clean_tags, parse_date
from fedi.domain.initiative_history import record_update
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, Contribution, Initiative, Lane, Task, utcnow

DEFAULT_LANE = "Backlog"
MAX_LANES = 12
MAX_LANE_NAME = 60
MAX_TASK_NAME = 200
MAX_TASK_DESCRIPTION = 5000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class BoardLane:
    """A lane with its tasks in order, for showing the board."""

    lane: Lane
    tasks: list[Task]


def _lane_name(value: str) -> str:
    name = re.sub(r"\s+", " ", _CONTROL.sub("", value)).strip()
    if not name:
        raise ServiceError("Please give the lane a name.", field="name")
    if len(name) > MAX_LANE_NAME:
        raise ServiceError(
            "A lane name has at most %(max)s characters.", field="name", max=MAX_LANE_NAME
        )
    return name


async def lanes_of(db: AsyncSession, initiative: Initiative) -> list[Lane]:
    """The lanes in order."""
    rows = await db.scalars(
        select(Lane).where(Lane.initiative_id == initiative.id).order_by(Lane.position, Lane.id)
    )
    return list(rows.all())


async def add_lane(db: AsyncSession, initiative: Initiative, name: str) -> Lane:
    """Append a lane without permission checks (used when an initiative is created)."""
    count = await db.scalar(select(func.count(Lane.id)).where(Lane.initiative_id == initiative.id))
    lane = Lane(initiative_id=initiative.id, name=_lane_name(name), position=int(count or 0))
    db.add(lane)
    await db.flush()
    return lane


async def create_lane(
    db: AsyncSession, settings: Settings, initiative: Initiative, partner: Actor, name: str
) -> Lane:
    """A partner adds a lane at the end."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    if len(await lanes_of(db, initiative)) >= MAX_LANES:
        raise ServiceError("A board has at most %(max)s lanes.", field="name", max=MAX_LANES)
    return await add_lane(db, initiative, name)


async def get_lane(db: AsyncSession, initiative: Initiative, lane_id: int) -> Lane:
    """A lane of this initiative; ``NotFound`` otherwise."""
    lane = await db.get(Lane, lane_id)
    if lane is None or lane.initiative_id != initiative.id:
        raise NotFound("This lane does not exist.")
    return lane


async def rename_lane(
    db: AsyncSession, settings: Settings, initiative: Initiative, partner: Actor,
    lane_id: int, name: str,
) -> Lane:
    """A partner renames a lane."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    lane = await get_lane(db, initiative, lane_id)
    lane.name = _lane_name(name)
    await db.flush()
    return lane


async def delete_lane(
    db: AsyncSession, settings: Settings, initiative: Initiative, partner: Actor, lane_id: int
) -> None:
    """A partner removes a lane; its tasks move to the end of the first other lane."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    lanes = await lanes_of(db, initiative)
    lane = await get_lane(db, initiative, lane_id)
    others = [item for item in lanes if item.id != lane.id]
    if not others:
        raise Forbidden("The last lane cannot be removed.")
    target = others[0]
    start = len(await _tasks_in(db, target.id))
    for offset, task in enumerate(await _tasks_in(db, lane.id)):
        task.lane_id = target.id
        task.position = start + offset
    await db.flush()
    await db.delete(lane)
    for position, item in enumerate(others):
        item.position = position
    await db.flush()


async def _tasks_in(db: AsyncSession, lane_id: int) -> list[Task]:
    rows = await db.scalars(
        select(Task).where(Task.lane_id == lane_id).order_by(Task.position, Task.id)
    )
    return list(rows.unique().all())


async def board(db: AsyncSession, initiative: Initiative) -> list[BoardLane]:
    """Every lane with its tasks in order."""
    lanes = await lanes_of(db, initiative)
    rows = await db.scalars(
        select(Task).where(Task.initiative_id == initiative.id).order_by(Task.position, Task.id)
    )
    by_lane: dict[int, list[Task]] = {lane.id: [] for lane in lanes}
    for task in rows.unique().all():
        by_lane.setdefault(task.lane_id, []).append(task)
    return [BoardLane(lane, by_lane.get(lane.id, [])) for lane in lanes]


async def tasks_of(db: AsyncSession, initiative: Initiative) -> list[Task]:
    """All tasks of the initiative, board order."""
    return [task for lane in await board(db, initiative) for task in lane.tasks]


async def get_task(db: AsyncSession, initiative: Initiative, task_id: int) -> Task:
    """A task of this initiative; ``NotFound`` otherwise."""
    task = await db.get(Task, task_id)
    if task is None or task.initiative_id != initiative.id:
        raise NotFound("This task does not exist.")
    return task


def check_task_fields(**fields: Any) -> dict[str, Any]:
    """Checked ``name``, ``description``, ``due_date``, ``tags`` (those given)."""
    out: dict[str, Any] = {}
    if "name" in fields:
        name = re.sub(r"\s+", " ", _CONTROL.sub("", str(fields["name"] or ""))).strip()
        if not name:
            raise ServiceError("Please give the task a name.", field="name")
        if len(name) > MAX_TASK_NAME:
            raise ServiceError(
                "A task name has at most %(max)s characters.", field="name", max=MAX_TASK_NAME
            )
        out["name"] = name
    if "description" in fields:
        text = _CONTROL.sub("", str(fields["description"] or "").replace("\r\n", "\n")).strip()
        if len(text) > MAX_TASK_DESCRIPTION:
            raise ServiceError(
                "This text has at most %(max)s characters.", field="description",
                max=MAX_TASK_DESCRIPTION,
            )
        out["description"] = text
    if "due_date" in fields:
        out["due_date"] = parse_date(fields["due_date"], "due_date")
    if "tags" in fields:
        out["tags"] = clean_tags(fields["tags"])
    return out


def _apply_task(task: Task, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "description":
            task.description_source = value
            task.description_html = render_markdown(value) if value else ""
        else:
            setattr(task, key, value)


async def add_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    *,
    name: str,
    lane_id: int | None = None,
    ap_id: str | None = None,
    **fields: Any,
) -> Task:
    """A partner adds a task at the end of a lane (default: the first lane)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    values = check_task_fields(name=name, **fields)
    if lane_id is None:
        lanes = await lanes_of(db, initiative)
        lane = lanes[0] if lanes else await add_lane(db, initiative, DEFAULT_LANE)
    else:
        lane = await get_lane(db, initiative, lane_id)
    task = Task(
        initiative_id=initiative.id, lane_id=lane.id, name=values["name"], tags=[],
        position=len(await _tasks_in(db, lane.id)), created_by_id=partner.id,
    )
    _apply_task(task, values)
    db.add(task)
    await db.flush()
    task.ap_id = ap_id or settings.url(f"/initiatives/{initiative.id}/tasks/{task.id}")
    await db.flush()
    await record_update(db, initiative, "task_added", partner, task=task, task_name=task.name)
    await notifications.notify(
        db, await active_partners(db, initiative), "task_added", by=partner,
        initiative_id=initiative.id,
        payload={"initiative": initiative.name, "task": task.name, "task_id": task.id},
    )
    await emit(db, settings, TaskCreated(initiative, partner, task=task))
    return task


async def edit_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    task_id: int,
    **fields: Any,
) -> Task:
    """A partner edits a task's name, description, due date or tags."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    old_due = task.due_date
    _apply_task(task, check_task_fields(**fields))
    await db.flush()
    if task.due_date != old_due:
        await record_update(
            db, initiative, "date_changed", partner, task=task, task_name=task.name,
            old=[old_due.isoformat() if old_due else None],
            new=[task.due_date.isoformat() if task.due_date else None],
        )
    else:
        await record_update(db, initiative, "task_edited", partner, task=task, task_name=task.name)
    await emit(db, settings, TaskUpdated(initiative, partner, task=task))
    return task


async def move_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    task_id: int,
    *,
    lane_id: int,
    position: int | None = None,
) -> Task:
    """A partner moves a task to ``lane_id`` at ``position`` (None or too big: the end)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    target = await get_lane(db, initiative, lane_id)
    old_lane = task.lane_id
    source_tasks = [t for t in await _tasks_in(db, old_lane) if t.id != task.id]
    target_tasks = (
        source_tasks if target.id == old_lane
        else [t for t in await _tasks_in(db, target.id) if t.id != task.id]
    )
    index = len(target_tasks) if position is None else max(0, min(position, len(target_tasks)))
    target_tasks.insert(index, task)
    task.lane_id = target.id
    for number, item in enumerate(target_tasks):
        item.position = number
    if target.id != old_lane:
        for number, item in enumerate(source_tasks):
            item.position = number
    await db.flush()
    if target.id != old_lane:
        await record_update(
            db, initiative, "task_moved", partner, task=task, task_name=task.name,
            lane=target.name,
        )
    await emit(db, settings, TaskUpdated(initiative, partner, task=task))
    return task


async def complete_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    task_id: int,
) -> Task:
    """A partner marks a task done (idempotent)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    if task.completed_at is not None:
        return task
    task.completed_at = utcnow()
    task.completed_by_id = partner.id
    task.completed_by = partner
    await db.flush()
    await record_update(db, initiative, "task_completed", partner, task=task, task_name=task.name)
    contributors = await db.scalars(
        select(Contribution).where(
            Contribution.task_id == task.id, Contribution.state == "accepted"
        )
    )
    await notifications.notify(
        db,
        [
            *await active_partners(db, initiative), *await supporters(db, initiative),
            *[row.actor for row in contributors.unique().all()],
        ],
        "task_completed", by=partner, initiative_id=initiative.id,
        payload={"initiative": initiative.name, "task": task.name, "task_id": task.id},
    )
    await emit(db, settings, TaskResolved(initiative, partner, task=task))
    return task


async def reopen_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    task_id: int,
) -> Task:
    """A partner reopens a completed task (idempotent)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    if task.completed_at is None:
        return task
    task.completed_at = None
    task.completed_by_id = None
    task.completed_by = None
    await db.flush()
    await record_update(db, initiative, "task_reopened", partner, task=task, task_name=task.name)
    await emit(db, settings, TaskReopened(initiative, partner, task=task))
    return task


async def delete_task(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    task_id: int,
) -> None:
    """A partner deletes a task (its contributions and comments go with it)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    lane_id = task.lane_id
    await record_update(db, initiative, "task_deleted", partner, task_name=task.name)
    await db.delete(task)
    await db.flush()
    for number, item in enumerate(await _tasks_in(db, lane_id)):
        item.position = number
    await db.flush()
    await emit(db, settings, TaskDeleted(initiative, partner, task=task))


def is_overdue(task: Task, today: date | None = None) -> bool:
    """Whether an open task's due date has passed."""
    return (
        task.completed_at is None and task.due_date is not None
        and task.due_date < (today or date.today())
    )
