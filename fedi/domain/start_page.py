"""What the start page shows: for everyone, initiatives that need help and recent results;
for a person, their tribes, initiatives, open tasks and offers, and what happened since
their last visit. Every list keeps to the visibility rule of ``fedi.domain.search``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain.matching import WorkMatch, talents_of
from fedi.domain.search import json_list_has, visible_initiatives
from models import (
    Actor,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    InitiativeUpdate,
    LastVisit,
    Task,
    Tribe,
    TribeMember,
    User,
    utcnow,
)

# Reloading the start page within this time keeps "since your last visit" where it was.
VISIT_GAP = timedelta(minutes=30)

_LIGHT = (
    defaultload(Initiative.tribe).defaultload(Tribe.actor).lazyload(Actor.talents),
    defaultload(Initiative.creator).lazyload(Actor.talents),
)


@dataclass
class HelpWanted:
    """An initiative with open tasks, and the talents those tasks (or it) ask for."""

    initiative: Initiative
    open_tasks: int
    talents: list[str] = field(default_factory=list)


async def record_visit(
    db: AsyncSession, user: User, now: datetime | None = None
) -> datetime | None:
    """Note that ``user`` looks at the start page now; return when their previous visit was
    (None: the first one). A visit within ``VISIT_GAP`` of the last keeps the same answer."""
    now = now or utcnow()
    visit = await db.get(LastVisit, user.id)
    if visit is None:
        db.add(LastVisit(user_id=user.id, seen_at=now, previous_at=None))
        await db.flush()
        return None
    if now - visit.seen_at >= VISIT_GAP:
        visit.previous_at = visit.seen_at
    visit.seen_at = now
    await db.flush()
    return visit.previous_at


async def needs_help(
    db: AsyncSession, viewer: Actor | None, *, limit: int = 6
) -> list[HelpWanted]:
    """Open initiatives with open tasks, most recently active first."""
    open_tasks = (
        select(Task.initiative_id, func.count(Task.id).label("open"))
        .where(Task.completed_at.is_(None))
        .group_by(Task.initiative_id)
        .subquery()
    )
    rows = (
        await db.execute(
            select(Initiative, open_tasks.c.open)
            .join(open_tasks, open_tasks.c.initiative_id == Initiative.id)
            .where(visible_initiatives(viewer), Initiative.archived_at.is_(None))
            .options(*_LIGHT)
            .order_by(Initiative.updated_at.desc(), Initiative.id.desc())
            .limit(limit)
        )
    ).unique().all()
    if not rows:
        return []
    tags = await db.execute(
        select(Task.initiative_id, Task.tags).where(
            Task.initiative_id.in_([initiative.id for initiative, _open in rows]),
            Task.completed_at.is_(None),
        )
    )
    wanted: dict[int, set[str]] = {}
    for initiative_id, task_tags in tags.all():
        wanted.setdefault(initiative_id, set()).update(task_tags or [])
    return [
        HelpWanted(
            initiative, int(count),
            sorted(wanted.get(initiative.id, set()) | set(initiative.tags or []))[:8],
        )
        for initiative, count in rows
    ]


async def recent_results(
    db: AsyncSession, viewer: Actor | None, *, limit: int = 6
) -> list[tuple[Initiative, Task]]:
    """Tasks finished lately, with their initiative, newest first."""
    rows = await db.execute(
        select(Initiative, Task)
        .join(Task, Task.initiative_id == Initiative.id)
        .where(visible_initiatives(viewer), Task.completed_at.is_not(None))
        .options(*_LIGHT)
        .order_by(Task.completed_at.desc(), Task.id.desc())
        .limit(limit)
    )
    return [(initiative, task) for initiative, task in rows.unique().all()]


@dataclass
class Mine:
    """A person's own things on the start page."""

    tribes: list[Tribe]
    partner_of: list[Initiative]
    supporting: list[Initiative]
    open_tasks: list[tuple[Initiative, Task]]
    offers: list[tuple[Initiative, Task, Contribution]]


async def mine(db: AsyncSession, person: Actor, *, limit: int = 8) -> Mine:
    """``person``'s tribes, initiatives (as partner and as supporter), the open tasks of the
    initiatives they are a partner of, and their offers still open or accepted."""
    tribes = (
        await db.scalars(
            select(Tribe)
            .join(TribeMember, TribeMember.tribe_id == Tribe.id)
            .where(TribeMember.actor_id == person.id, TribeMember.state == "active")
            .options(defaultload(Tribe.actor).lazyload(Actor.talents))
            .order_by(Tribe.slug)
        )
    ).unique().all()
    partner_ids = select(InitiativePartner.initiative_id).where(
        InitiativePartner.actor_id == person.id, InitiativePartner.state == "active"
    )
    alive = (Initiative.deleted_at.is_(None),)
    partner_of = (
        await db.scalars(
            select(Initiative).where(Initiative.id.in_(partner_ids), *alive).options(*_LIGHT)
            .order_by(Initiative.updated_at.desc()).limit(limit)
        )
    ).unique().all()
    supporting = (
        await db.scalars(
            select(Initiative)
            .join(InitiativeSupporter, InitiativeSupporter.initiative_id == Initiative.id)
            .where(
                InitiativeSupporter.actor_id == person.id, visible_initiatives(person),
                Initiative.id.not_in(partner_ids),
            )
            .options(*_LIGHT)
            .order_by(Initiative.updated_at.desc()).limit(limit)
        )
    ).unique().all()
    open_tasks = (
        await db.execute(
            select(Initiative, Task)
            .join(Task, Task.initiative_id == Initiative.id)
            .where(
                Initiative.id.in_(partner_ids), *alive, Initiative.archived_at.is_(None),
                Task.completed_at.is_(None),
            )
            .options(*_LIGHT)
            .order_by(Task.due_date.is_(None), Task.due_date, Task.created_at.desc())
            .limit(limit)
        )
    ).unique().all()
    offers = (
        await db.execute(
            select(Initiative, Task, Contribution)
            .join(Task, Task.id == Contribution.task_id)
            .join(Initiative, Initiative.id == Contribution.initiative_id)
            .where(
                Contribution.actor_id == person.id,
                Contribution.state.in_(("proposed", "accepted")),
                Task.completed_at.is_(None), *alive,
            )
            .options(*_LIGHT)
            .order_by(Contribution.created_at.desc())
            .limit(limit)
        )
    ).unique().all()
    return Mine(
        list(tribes), list(partner_of), list(supporting),
        [(initiative, task) for initiative, task in open_tasks],
        [(initiative, task, offer) for initiative, task, offer in offers],
    )


async def since(
    db: AsyncSession, person: Actor, after: datetime, *, limit: int = 12
) -> list[tuple[Initiative, InitiativeUpdate]]:
    """What others did after ``after`` in the initiatives ``person`` works on or supports,
    and in the tribes they belong to (initiatives they may see), newest first."""
    involved = or_(
        Initiative.id.in_(
            select(InitiativePartner.initiative_id).where(
                InitiativePartner.actor_id == person.id, InitiativePartner.state == "active"
            )
        ),
        Initiative.id.in_(
            select(InitiativeSupporter.initiative_id).where(
                InitiativeSupporter.actor_id == person.id
            )
        ),
        Initiative.tribe_id.in_(
            select(TribeMember.tribe_id).where(
                TribeMember.actor_id == person.id, TribeMember.state == "active"
            )
        ),
    )
    others: Any = or_(InitiativeUpdate.actor_id.is_(None), InitiativeUpdate.actor_id != person.id)
    rows = await db.execute(
        select(Initiative, InitiativeUpdate)
        .join(InitiativeUpdate, InitiativeUpdate.initiative_id == Initiative.id)
        .where(
            visible_initiatives(person), involved, others,
            InitiativeUpdate.created_at > after,
        )
        .options(*_LIGHT, defaultload(InitiativeUpdate.actor).lazyload(Actor.talents))
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(limit)
    )
    return [(initiative, entry) for initiative, entry in rows.unique().all()]


async def talent_matches(db: AsyncSession, person: Actor, *, limit: int = 5) -> list[WorkMatch]:
    """Open initiatives (newest activity first) whose tags or open tasks ask for one of
    ``person``'s talents, with what matched: ``matching.needs_your_talents`` in a few
    statements (it reads every initiative, too much for a page everyone starts on)."""
    talents = await talents_of(db, person)
    if not talents:
        return []
    wanted = sorted(talents)
    task_needs = exists().where(
        Task.initiative_id == Initiative.id,
        Task.completed_at.is_(None),
        or_(*[json_list_has(Task.tags, talent) for talent in wanted]),
    )
    found = (
        await db.scalars(
            select(Initiative)
            .where(
                visible_initiatives(person), Initiative.archived_at.is_(None),
                or_(task_needs, *[json_list_has(Initiative.tags, talent) for talent in wanted]),
            )
            .options(*_LIGHT)
            .order_by(Initiative.updated_at.desc(), Initiative.id.desc())
            .limit(limit)
        )
    ).unique().all()
    if not found:
        return []
    tasks = (
        await db.scalars(
            select(Task)
            .where(Task.initiative_id.in_([item.id for item in found]), Task.completed_at.is_(None))
            .order_by(Task.position, Task.id)
        )
    ).unique().all()
    matches = {item.id: WorkMatch(item, sorted(talents & set(item.tags or []))) for item in found}
    for task in tasks:
        hit = sorted(talents & set(task.tags or []))
        if hit:
            matches[task.initiative_id].tasks.append((task, hit))
    return [matches[item.id] for item in found]
