"""Who may see and do what in an initiative: the permission questions every service asks.

The rules (all enforced here, on the server; Part-up checked some only in the browser):

* view: ``public`` initiatives everyone; ``members`` the tribe's active members and the
  initiative's partners; ``private`` the partners only. Deleted initiatives nobody.
  For a tribe on another server, a local person is a member when their follow of the
  ``Group`` was accepted (that is how they joined it), and a remote person when the tribe's
  ``members`` collection listed them (``initiative_audience.confirm_remote_member`` keeps
  that knowledge as membership rows of the remote tribe).
* edit, archive, delete: the creator and the active partners.
* manage lanes and tasks, accept partners, decide on offers, rate: active partners.
* an archived initiative is read-only: only unarchive, delete, rating and reading work.

Every function takes any ``Actor`` (local or remote) or None for an anonymous visitor.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Forbidden, NotFound
from fedi.domain.remote_tribes import joined_remote_tribe
from fedi.domain.tribe_access import is_blocked, role_of
from models import Actor, Initiative, InitiativePartner, InitiativeSupporter, Tribe

VISIBILITIES = ("public", "members", "private")


async def find_initiative(db: AsyncSession, initiative_id: int) -> Initiative | None:
    """The initiative with this id, deleted or not, or None."""
    return await db.get(Initiative, initiative_id)


async def get_initiative(db: AsyncSession, initiative_id: int) -> Initiative:
    """The initiative with this id; ``NotFound`` when missing or deleted."""
    initiative = await find_initiative(db, initiative_id)
    if initiative is None or initiative.deleted_at is not None:
        raise NotFound("This initiative does not exist.")
    return initiative


async def partner_row(
    db: AsyncSession, initiative: Initiative, actor: Actor | None
) -> InitiativePartner | None:
    """The partner row (active or requested) of ``actor``, or None."""
    if actor is None:
        return None
    return await db.scalar(
        select(InitiativePartner).where(
            InitiativePartner.initiative_id == initiative.id,
            InitiativePartner.actor_id == actor.id,
        )
    )


async def is_partner(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> bool:
    """Whether ``actor`` is an active partner."""
    row = await partner_row(db, initiative, actor)
    return row is not None and row.state == "active"


async def is_supporter(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> bool:
    """Whether ``actor`` supports the initiative."""
    if actor is None:
        return False
    found = await db.scalar(
        select(InitiativeSupporter.id).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == actor.id,
        )
    )
    return found is not None


async def is_tribe_member(db: AsyncSession, tribe: Tribe, actor: Actor | None) -> bool:
    """Whether ``actor`` is an active member of ``tribe`` as far as this server knows."""
    if actor is None:
        return False
    if await role_of(db, tribe, actor) is not None:
        return True
    if tribe.actor.local or not actor.local:
        return False
    # A local person joined a tribe elsewhere by following its Group.
    return await joined_remote_tribe(db, tribe, actor)


async def can_view(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> bool:
    """Whether ``actor`` (None: anonymous) may see the initiative (see module rules)."""
    if initiative.deleted_at is not None:
        return False
    if actor is not None and await is_blocked(db, initiative.tribe, actor):
        return False
    if initiative.visibility == "public":
        return True
    if actor is None:
        return False
    if await is_partner(db, initiative, actor):
        return True
    if initiative.visibility == "members":
        return await is_tribe_member(db, initiative.tribe, actor)
    return False


async def require_view(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> None:
    """``NotFound`` when ``actor`` may not see it (hiding that it exists at all)."""
    if not await can_view(db, initiative, actor):
        raise NotFound("This initiative does not exist.")


async def can_edit(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> bool:
    """Whether ``actor`` may edit, archive or delete it: the creator or an active partner."""
    if actor is None or initiative.deleted_at is not None:
        return False
    if initiative.creator_id == actor.id:
        return True
    return await is_partner(db, initiative, actor)


async def require_edit(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> None:
    """``Forbidden`` unless ``actor`` is the creator or a partner (after the view check)."""
    await require_view(db, initiative, actor)
    if not await can_edit(db, initiative, actor):
        raise Forbidden("Only the partners of this initiative may do this.")


async def require_partner(db: AsyncSession, initiative: Initiative, actor: Actor | None) -> None:
    """``Forbidden`` unless ``actor`` is an active partner (after the view check)."""
    await require_view(db, initiative, actor)
    if not await is_partner(db, initiative, actor):
        raise Forbidden("Only the partners of this initiative may do this.")


def require_open(initiative: Initiative) -> None:
    """``Forbidden`` when the initiative is archived (read-only)."""
    if initiative.archived_at is not None:
        raise Forbidden("This initiative is archived; it can no longer be changed.")


def require_person(actor: Actor | None) -> Actor:
    """The actor if it is a logged-in person (local or remote), else ``Forbidden``."""
    if actor is None:
        raise Forbidden("Please log in first.")
    if actor.type not in ("Person", "Service", "Application", "Organization"):
        raise Forbidden("Only people can do this.")
    return actor


async def active_partners(db: AsyncSession, initiative: Initiative) -> list[Actor]:
    """The active partners, oldest first."""
    rows = await db.scalars(
        select(InitiativePartner)
        .where(
            InitiativePartner.initiative_id == initiative.id,
            InitiativePartner.state == "active",
        )
        .order_by(InitiativePartner.since, InitiativePartner.id)
    )
    return [row.actor for row in rows.unique().all()]


async def supporters(db: AsyncSession, initiative: Initiative) -> list[Actor]:
    """The supporters, oldest first."""
    rows = await db.scalars(
        select(InitiativeSupporter)
        .where(InitiativeSupporter.initiative_id == initiative.id)
        .order_by(InitiativeSupporter.since, InitiativeSupporter.id)
    )
    return [row.actor for row in rows.unique().all()]
