"""Contributions: offering hours or resources for a task, deciding on offers, rating them.

Rules:

* offer: any person (local or remote) who can see the initiative, not on an archived one,
  not on a completed task; one open offer per person per task.
* accept / reject: an active partner. A partner does not decide on their own offer —
  unless they are the only partner, since nobody else could (documented choice).
* withdraw: only the offerer, while the offer is still proposed (or accepted: stepping
  back from work they promised).
* accepting makes the contributor a partner (``role`` contributor).
* rate: an active partner, only accepted contributions, never their own; one rating per
  partner per contribution (rating again replaces it). Also allowed on archived
  initiatives: rating is how work is wrapped up.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import notifications
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_initiatives import (
    ContributionDecided,
    ContributionOffered,
    ContributionRated,
    ContributionWithdrawn,
)
from fedi.domain.initiative_access import (
    active_partners,
    require_open,
    require_partner,
    require_person,
    require_view,
)
from fedi.domain.initiative_board import get_task
from fedi.domain.initiative_history import record_update
from fedi.domain.initiative_people import add_partner
from fedi.settings import Settings
from models import Actor, Contribution, Initiative, Rating, Task, utcnow

STATES = ("proposed", "accepted", "rejected", "withdrawn")
MAX_HOURS = 10_000
MAX_TEXT = 2000


def _clean(value: str, field: str) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ServiceError("This text has at most %(max)s characters.", field=field, max=MAX_TEXT)
    return text


def parse_hours(value: object) -> int | None:
    """Whole hours (1-10000) or None when empty; ``ServiceError`` otherwise."""
    if value in (None, ""):
        return None
    try:
        hours = int(str(value).strip())
    except ValueError:
        raise ServiceError("Please give hours as a whole number.", field="hours") from None
    if not 1 <= hours <= MAX_HOURS:
        raise ServiceError("Please give hours as a whole number.", field="hours")
    return hours


async def offer(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    task_id: int,
    *,
    hours: object = None,
    resources: str = "",
    motivation: str = "",
    ap_id: str | None = None,
    offer_ap_id: str | None = None,
) -> Contribution:
    """``actor`` offers hours and/or resources for a task (see the module rules)."""
    require_person(actor)
    await require_view(db, initiative, actor)
    require_open(initiative)
    task = await get_task(db, initiative, task_id)
    if task.completed_at is not None:
        raise Forbidden("This task is done; it needs no more offers.")
    amount = parse_hours(hours)
    stuff = _clean(resources, "resources")
    why = _clean(motivation, "motivation")
    if amount is None and not stuff:
        raise ServiceError("Please offer hours or resources.", field="hours")
    existing = await db.scalar(
        select(Contribution.id).where(
            Contribution.task_id == task.id, Contribution.actor_id == actor.id,
            Contribution.state == "proposed",
        )
    )
    if existing is not None:
        raise Conflict("You have an open offer for this task already.")
    contribution = Contribution(
        initiative_id=initiative.id, task_id=task.id, actor_id=actor.id, hours=amount,
        resources=stuff, motivation=why, state="proposed", offer_ap_id=offer_ap_id,
    )
    contribution.actor = actor
    db.add(contribution)
    await db.flush()
    contribution.ap_id = ap_id or settings.url(
        f"/initiatives/{initiative.id}/contributions/{contribution.id}"
    )
    await db.flush()
    await record_update(
        db, initiative, "contribution_offered", actor, task=task, task_name=task.name,
        hours=amount, resources=stuff[:200],
    )
    await notifications.notify(
        db, await active_partners(db, initiative), "contribution_offered", by=actor,
        initiative_id=initiative.id,
        payload={"initiative": initiative.name, "task": task.name, "task_id": task.id},
    )
    await emit(db, settings, ContributionOffered(initiative, actor, contribution=contribution))
    return contribution


async def get_contribution(
    db: AsyncSession, initiative: Initiative, contribution_id: int
) -> Contribution:
    """A contribution of this initiative; ``NotFound`` otherwise."""
    contribution = await db.get(Contribution, contribution_id)
    if contribution is None or contribution.initiative_id != initiative.id:
        raise NotFound("This contribution does not exist.")
    return contribution


async def may_decide(
    db: AsyncSession, initiative: Initiative, partner: Actor, contribution: Contribution
) -> bool:
    """Whether ``partner`` may accept or reject this offer (see the module rules)."""
    partners = await active_partners(db, initiative)
    if partner.id not in {p.id for p in partners}:
        return False
    if contribution.actor_id != partner.id:
        return True
    return len(partners) == 1


async def decide(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    contribution_id: int,
    *,
    accept: bool,
) -> Contribution:
    """A partner accepts or rejects a proposed offer; accepting makes the offerer a partner."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    contribution = await get_contribution(db, initiative, contribution_id)
    if contribution.state != "proposed":
        raise Conflict("This offer has been decided already.")
    if not await may_decide(db, initiative, partner, contribution):
        raise Forbidden("Another partner has to decide on your own offer.")
    contribution.state = "accepted" if accept else "rejected"
    contribution.decided_by_id = partner.id
    contribution.decided_by = partner
    contribution.decided_at = utcnow()
    await db.flush()
    task = await db.get(Task, contribution.task_id)
    task_name = task.name if task else ""
    kind = "contribution_accepted" if accept else "contribution_rejected"
    await record_update(
        db, initiative, kind, partner, task=task, task_name=task_name,
        contributor=contribution.actor.name, contributor_id=contribution.actor_id,
    )
    await notifications.notify(
        db, [contribution.actor], kind, by=partner, initiative_id=initiative.id,
        payload={"initiative": initiative.name, "task": task_name, "task_id": contribution.task_id},
    )
    await emit(db, settings, ContributionDecided(initiative, partner, contribution=contribution))
    if accept:
        await add_partner(
            db, settings, initiative, contribution.actor, role="contributor", by=partner
        )
    return contribution


async def withdraw(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    contribution_id: int,
) -> Contribution:
    """The offerer withdraws their proposed (or accepted) offer."""
    contribution = await get_contribution(db, initiative, contribution_id)
    if contribution.actor_id != actor.id:
        raise Forbidden("Only the person who made an offer can withdraw it.")
    if contribution.state not in ("proposed", "accepted"):
        raise Conflict("This offer cannot be withdrawn any more.")
    contribution.state = "withdrawn"
    await db.flush()
    task = await db.get(Task, contribution.task_id)
    await record_update(
        db, initiative, "contribution_withdrawn", actor, task=task,
        task_name=task.name if task else "",
    )
    await notifications.notify(
        db, await active_partners(db, initiative), "contribution_withdrawn", by=actor,
        initiative_id=initiative.id,
        payload={"initiative": initiative.name, "task": task.name if task else ""},
    )
    await emit(db, settings, ContributionWithdrawn(initiative, actor, contribution=contribution))
    return contribution


async def rate(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    contribution_id: int,
    *,
    score: object,
    feedback: str = "",
) -> Rating:
    """A partner rates an accepted contribution 0-100 with feedback (see module rules)."""
    await require_partner(db, initiative, partner)
    contribution = await get_contribution(db, initiative, contribution_id)
    if contribution.state != "accepted":
        raise Forbidden("Only accepted contributions can be rated.")
    if contribution.actor_id == partner.id:
        raise Forbidden("You cannot rate your own contribution.")
    try:
        value = int(str(score).strip())
    except ValueError:
        raise ServiceError("Please give a score from 0 to 100.", field="score") from None
    if not 0 <= value <= 100:
        raise ServiceError("Please give a score from 0 to 100.", field="score")
    text = _clean(feedback, "feedback")
    rating = await db.scalar(
        select(Rating).where(
            Rating.contribution_id == contribution.id, Rating.partner_id == partner.id
        )
    )
    if rating is None:
        rating = Rating(contribution_id=contribution.id, partner_id=partner.id)
        rating.partner = partner
        db.add(rating)
    rating.score = value
    rating.feedback = text
    await db.flush()
    await record_update(
        db, initiative, "rated", partner, contributor=contribution.actor.name, score=value
    )
    await notifications.notify(
        db, [contribution.actor], "rated", by=partner, initiative_id=initiative.id,
        payload={"initiative": initiative.name, "score": value},
    )
    await emit(db, settings, ContributionRated(initiative, partner, rating=rating))
    return rating


async def for_task(db: AsyncSession, task: Task) -> list[Contribution]:
    """The offers for a task, oldest first."""
    rows = await db.scalars(
        select(Contribution)
        .where(Contribution.task_id == task.id)
        .order_by(Contribution.created_at, Contribution.id)
    )
    return list(rows.unique().all())


async def ratings_of(db: AsyncSession, contribution: Contribution) -> list[Rating]:
    """The ratings of one contribution."""
    rows = await db.scalars(
        select(Rating).where(Rating.contribution_id == contribution.id).order_by(Rating.id)
    )
    return list(rows.unique().all())


async def average_rating(db: AsyncSession, actor: Actor) -> float | None:
    """The average score ``actor``'s contributions received, or None."""
    value = await db.scalar(
        select(func.avg(Rating.score))
        .join(Contribution, Contribution.id == Rating.contribution_id)
        .where(Contribution.actor_id == actor.id)
    )
    return float(value) if value is not None else None
