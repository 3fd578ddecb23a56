"""The people around an initiative: supporters (one click) and partners (who do the work).

* Anyone who can see an initiative may support it (a ``Like`` or ``Follow`` from another
  server counts too) and may stop supporting it.
* Anyone who can see it may ask to become a partner; an active partner accepts or declines.
  An accepted contribution makes its contributor a partner directly (``add_partner``).
* A partner may leave, unless they are the last one (someone must be able to manage it);
  a request may be withdrawn the same way.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import notifications
from fedi.domain.errors import Conflict, Forbidden, NotFound
from fedi.domain.events import emit
from fedi.domain.events_initiatives import (
    PartnerAdded,
    PartnerLeft,
    PartnershipDeclined,
    PartnershipRequested,
    Supported,
    Unsupported,
)
from fedi.domain.initiative_access import (
    active_partners,
    partner_row,
    require_open,
    require_partner,
    require_person,
    require_view,
)
from fedi.domain.initiative_history import record_update
from fedi.settings import Settings
from models import Actor, Initiative, InitiativePartner, InitiativeSupporter, utcnow

MAX_MESSAGE = 1000


async def support(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    *,
    activity_ap_id: str | None = None,
    quiet: bool = False,
) -> InitiativeSupporter:
    """Make ``actor`` a supporter (idempotent).

    ``quiet`` (supporting by commenting): no history entry and no notification of its own.
    """
    require_person(actor)
    await require_view(db, initiative, actor)
    existing = await db.scalar(
        select(InitiativeSupporter).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == actor.id,
        )
    )
    if existing is not None:
        return existing
    row = InitiativeSupporter(
        initiative_id=initiative.id, actor_id=actor.id, activity_ap_id=activity_ap_id
    )
    row.actor = actor
    db.add(row)
    await db.flush()
    if not quiet:
        await record_update(db, initiative, "supporter_joined", actor)
        await notifications.notify(
            db, await active_partners(db, initiative), "supporter_joined", by=actor,
            initiative_id=initiative.id, payload={"initiative": initiative.name},
        )
    await emit(db, settings, Supported(initiative, actor))
    return row


async def unsupport(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
) -> None:
    """Stop supporting (nothing happens when ``actor`` was no supporter)."""
    row = await db.scalar(
        select(InitiativeSupporter).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == actor.id,
        )
    )
    if row is None:
        return
    await db.delete(row)
    await db.flush()
    await emit(db, settings, Unsupported(initiative, actor))


async def add_partner(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    *,
    role: str = "partner",
    by: Actor | None = None,
) -> InitiativePartner:
    """Make ``actor`` an active partner now (creator, accepted request or contribution).

    ``by`` is who let them in (None: they did it themselves). The creator's partnership is
    part of creating the initiative and emits no event of its own.
    """
    row = await partner_row(db, initiative, actor)
    if row is not None and row.state == "active":
        return row
    if row is None:
        row = InitiativePartner(initiative_id=initiative.id, actor_id=actor.id, role=role)
        row.actor = actor
        db.add(row)
    row.state = "active"
    row.role = role if row.role == "partner" else row.role
    row.since = utcnow()
    await db.flush()
    if role != "creator":
        await record_update(db, initiative, "partner_joined", actor, by=by.name if by else "")
        await notifications.notify(
            db, [*await active_partners(db, initiative)], "partner_joined", by=actor,
            initiative_id=initiative.id, payload={"initiative": initiative.name},
        )
        if by is not None and by.id != actor.id:
            await notifications.notify(
                db, [actor], "partner_joined", by=by, initiative_id=initiative.id,
                payload={"initiative": initiative.name, "you": True},
            )
        await emit(db, settings, PartnerAdded(initiative, by or actor, partner=row))
    # A partner is no longer listed as a mere supporter.
    supporter = await db.scalar(
        select(InitiativeSupporter).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == actor.id,
        )
    )
    if supporter is not None:
        await db.delete(supporter)
        await db.flush()
    return row


async def request_partnership(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
    message: str = "",
    *,
    activity_ap_id: str | None = None,
) -> InitiativePartner:
    """Ask to become a partner (anyone who can see it, on an initiative that is not archived)."""
    require_person(actor)
    await require_view(db, initiative, actor)
    require_open(initiative)
    row = await partner_row(db, initiative, actor)
    if row is not None:
        if row.state == "active":
            raise Conflict("You are a partner already.")
        return row
    row = InitiativePartner(
        initiative_id=initiative.id, actor_id=actor.id, state="requested",
        message=message.strip()[:MAX_MESSAGE], activity_ap_id=activity_ap_id,
    )
    row.actor = actor
    db.add(row)
    await db.flush()
    await record_update(db, initiative, "partner_requested", actor)
    await notifications.notify(
        db, await active_partners(db, initiative), "partner_requested", by=actor,
        initiative_id=initiative.id, payload={"initiative": initiative.name},
    )
    await emit(db, settings, PartnershipRequested(initiative, actor, partner=row))
    return row


async def _request_of(
    db: AsyncSession, initiative: Initiative, candidate_id: int
) -> InitiativePartner:
    row = await db.scalar(
        select(InitiativePartner).where(
            InitiativePartner.initiative_id == initiative.id,
            InitiativePartner.actor_id == candidate_id,
            InitiativePartner.state == "requested",
        )
    )
    if row is None:
        raise NotFound("There is no such request.")
    return row


async def accept_partner(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    candidate_id: int,
) -> InitiativePartner:
    """An active partner accepts a partnership request (by the candidate's actor id)."""
    await require_partner(db, initiative, partner)
    require_open(initiative)
    row = await _request_of(db, initiative, candidate_id)
    return await add_partner(db, settings, initiative, row.actor, by=partner)


async def decline_partner(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    partner: Actor,
    candidate_id: int,
) -> None:
    """An active partner declines a partnership request."""
    await require_partner(db, initiative, partner)
    row = await _request_of(db, initiative, candidate_id)
    await db.delete(row)
    await db.flush()
    await emit(db, settings, PartnershipDeclined(initiative, partner, partner=row))


async def leave_partnership(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    actor: Actor,
) -> None:
    """A partner steps back (or withdraws a request); the last partner cannot leave.

    A partner leaving is written to the history; from here
    it goes out as ``Leave{Page}`` (the ``PartnerLeft`` event), and a ``Leave``
    from another server comes back in through this same function.
    """
    row = await partner_row(db, initiative, actor)
    if row is None:
        raise NotFound("You are not a partner.")
    was_active = row.state == "active"
    if was_active and len(await active_partners(db, initiative)) <= 1:
        raise Forbidden("The last partner cannot leave; archive or delete the initiative.")
    await db.delete(row)
    await db.flush()
    if was_active:
        await record_update(db, initiative, "partner_left", actor)
    await emit(db, settings, PartnerLeft(initiative, actor, partner=row))


async def partner_requests(db: AsyncSession, initiative: Initiative) -> list[InitiativePartner]:
    """Open partnership requests, oldest first."""
    rows = await db.scalars(
        select(InitiativePartner)
        .where(
            InitiativePartner.initiative_id == initiative.id,
            InitiativePartner.state == "requested",
        )
        .order_by(InitiativePartner.requested_at)
    )
    return list(rows.unique().all())


async def partner_rows(db: AsyncSession, initiative: Initiative) -> list[InitiativePartner]:
    """Active partner rows (with role and since), oldest first."""
    rows = await db.scalars(
        select(InitiativePartner)
        .where(
            InitiativePartner.initiative_id == initiative.id,
            InitiativePartner.state == "active",
        )
        .order_by(InitiativePartner.since, InitiativePartner.id)
    )
    return list(rows.unique().all())
