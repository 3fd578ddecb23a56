"""What a profile page shows of a person's work: their tribes, the initiatives they are a
partner or supporter of, their contributions and the ratings those received.

Only what the viewer may see: initiatives by the rule of ``fedi.domain.search``
(``visible_initiatives``), and contributions and ratings only inside such initiatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain.search import visible_initiatives
from models import (
    Actor,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    Rating,
    Task,
    Tribe,
    TribeMember,
)

_LIGHT = (
    defaultload(Initiative.tribe).defaultload(Tribe.actor).lazyload(Actor.talents),
    defaultload(Initiative.creator).lazyload(Actor.talents),
)


@dataclass
class ContributionLine:
    """One contribution with where it went and the ratings it received."""

    contribution: Contribution
    initiative: Initiative
    task: Task
    ratings: list[Rating] = field(default_factory=list)


@dataclass
class Overview:
    """A person's work as one viewer may see it."""

    tribes: list[tuple[Tribe, str]]
    partner_of: list[Initiative]
    supporting: list[Initiative]
    contributions: list[ContributionLine]
    average_score: float | None
    rating_count: int


async def overview(
    db: AsyncSession, person: Actor, viewer: Actor | None, *, limit: int = 20
) -> Overview:
    """``person``'s tribes (with their role), initiatives as partner and as supporter,
    newest contributions with their ratings, and the average rating, as ``viewer`` sees
    them."""
    tribes = (
        await db.execute(
            select(Tribe, TribeMember.role)
            .join(TribeMember, TribeMember.tribe_id == Tribe.id)
            .where(TribeMember.actor_id == person.id, TribeMember.state == "active")
            .options(defaultload(Tribe.actor).lazyload(Actor.talents))
            .order_by(Tribe.slug)
        )
    ).unique().all()
    seen = visible_initiatives(viewer)
    partner_of = (
        await db.scalars(
            select(Initiative)
            .join(InitiativePartner, InitiativePartner.initiative_id == Initiative.id)
            .where(
                InitiativePartner.actor_id == person.id, InitiativePartner.state == "active",
                seen,
            )
            .options(*_LIGHT)
            .order_by(Initiative.created_at.desc())
            .limit(limit)
        )
    ).unique().all()
    supporting = (
        await db.scalars(
            select(Initiative)
            .join(InitiativeSupporter, InitiativeSupporter.initiative_id == Initiative.id)
            .where(InitiativeSupporter.actor_id == person.id, seen)
            .options(*_LIGHT)
            .order_by(InitiativeSupporter.since.desc())
            .limit(limit)
        )
    ).unique().all()
    rows = (
        await db.execute(
            select(Contribution, Initiative, Task)
            .join(Initiative, Initiative.id == Contribution.initiative_id)
            .join(Task, Task.id == Contribution.task_id)
            .where(
                Contribution.actor_id == person.id,
                Contribution.state.in_(("proposed", "accepted")),
                seen,
            )
            .options(*_LIGHT, defaultload(Contribution.actor).lazyload(Actor.talents))
            .order_by(Contribution.created_at.desc())
            .limit(limit)
        )
    ).unique().all()
    lines = [ContributionLine(c, i, t) for c, i, t in rows]
    if lines:
        ratings = (
            await db.scalars(
                select(Rating)
                .where(Rating.contribution_id.in_([line.contribution.id for line in lines]))
                .options(defaultload(Rating.partner).lazyload(Actor.talents))
                .order_by(Rating.created_at)
            )
        ).unique().all()
        by_contribution: dict[int, list[Rating]] = {}
        for rating in ratings:
            by_contribution.setdefault(rating.contribution_id, []).append(rating)
        for line in lines:
            line.ratings = by_contribution.get(line.contribution.id, [])
    average, count = (
        await db.execute(
            select(func.avg(Rating.score), func.count(Rating.id))
            .join(Contribution, Contribution.id == Rating.contribution_id)
            .join(Initiative, Initiative.id == Contribution.initiative_id)
            .where(Contribution.actor_id == person.id, seen)
        )
    ).one()
    return Overview(
        [(tribe, role) for tribe, role in tribes], list(partner_of), list(supporting), lines,
        float(average) if average is not None else None, int(count or 0),
    )
