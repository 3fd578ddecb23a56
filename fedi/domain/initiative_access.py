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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload, lazyload

from fedi.domain.errors import Forbidden, NotFound
from fedi.domain.remote_tribes import joined_remote_tribe
from fedi.domain.tribe_access import (
    BLOCKED,
    actor_domain,
    block_parameters,
    domain_matches,
    is_blocked,
    role_of,
)
from models import (
    Actor,
    Follow,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    Tribe,
    TribeBlock,
    TribeMember,
)

VISIBILITIES = ("public", "members", "private")
_WITHOUT_TALENTS = [
    defaultload(Initiative.tribe).defaultload(Tribe.actor).lazyload(Actor.talents),
    defaultload(Initiative.creator).lazyload(Actor.talents),
]


async def find_initiative(db: AsyncSession, initiative_id: int) -> Initiative | None:
    """The initiative with this id, deleted or not, or None."""
    # The tribe's Group actor and the creator come joined; their talents are not needed.
    return await db.get(Initiative, initiative_id, options=_WITHOUT_TALENTS)


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


@dataclass(frozen=True)
class Relation:
    """What one person is to one initiative, as every initiative page asks it."""

    blocked: bool  # the initiative's tribe blocks them
    partner: InitiativePartner | None  # their partner row (active or requested), actor unloaded
    supporter: bool

    @property
    def is_partner(self) -> bool:
        """Whether they are an active partner (as ``is_partner``)."""
        return self.partner is not None and self.partner.state == "active"


# Built once: every initiative page a logged-in person sees asks it (the outer join from a
# one-row anchor gives a row for people who are not partners too).
_RELATION = (
    select(
        InitiativePartner,
        BLOCKED.label("blocked"),
        select(InitiativeSupporter.id)
        .where(
            InitiativeSupporter.initiative_id == bindparam("initiative_id"),
            InitiativeSupporter.actor_id == bindparam("actor_id"),
        )
        .exists()
        .label("supporter"),
    )
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(
        InitiativePartner,
        and_(
            InitiativePartner.initiative_id == bindparam("initiative_id"),
            InitiativePartner.actor_id == bindparam("actor_id"),
        ),
    )
    .options(lazyload("*"))
)


async def relation(db: AsyncSession, initiative: Initiative, actor: Actor) -> Relation:
    """``is_blocked``, ``partner_row`` and ``is_supporter`` of ``actor`` in one statement."""
    values = {
        **block_parameters(initiative.tribe, actor),
        "initiative_id": initiative.id, "actor_id": actor.id,
    }
    row = (await db.execute(_RELATION, values)).one()
    return Relation(blocked=bool(row[1]), partner=row[0], supporter=bool(row[2]))


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


async def can_view(
    db: AsyncSession, initiative: Initiative, actor: Actor | None, *,
    known: Relation | None = None,
) -> bool:
    """Whether ``actor`` (None: anonymous) may see the initiative (see module rules).

    ``known``: the actor's ``relation`` to the initiative when the caller read it already.
    """
    if initiative.deleted_at is not None:
        return False
    if actor is not None and (
        known.blocked if known is not None else await is_blocked(db, initiative.tribe, actor)
    ):
        return False
    if initiative.visibility == "public":
        return True
    if actor is None:
        return False
    if known.is_partner if known is not None else await is_partner(db, initiative, actor):
        return True
    if initiative.visibility == "members":
        return await is_tribe_member(db, initiative.tribe, actor)
    return False


async def who_may_view(
    db: AsyncSession, initiative: Initiative, actors: Sequence[Actor]
) -> set[int]:
    """The ids of those ``actors`` who may see the initiative: ``can_view`` for a list of
    people in a few statements, not a few per person (same rules)."""
    if initiative.deleted_at is not None or not actors:
        return set()
    tribe = initiative.tribe
    people = {actor.id: actor for actor in actors}
    blocks: list[tuple[str | None, str | None]] = []
    for chunk in _chunks(list(people.values())):
        domains = {actor_domain(a) for a in chunk} | {
            actor_domain(a).rsplit(":", 1)[0] for a in chunk
        }
        rows = await db.execute(
            select(TribeBlock.actor_ap_id, TribeBlock.domain).where(
                TribeBlock.tribe_id == tribe.id,
                or_(
                    TribeBlock.actor_ap_id.in_([a.ap_id for a in chunk]),
                    TribeBlock.domain.in_(domains),
                ),
            )
        )
        blocks.extend((ap_id, domain) for ap_id, domain in rows.all())
    blocked_ids = {ap_id for ap_id, _ in blocks if ap_id}
    blocked_domains = {domain for _, domain in blocks if domain}
    allowed = {
        actor.id for actor in people.values()
        if actor.ap_id not in blocked_ids
        and not any(domain_matches(d, actor_domain(actor)) for d in blocked_domains)
    }
    if initiative.visibility == "public" or not allowed:
        return allowed
    partners = await _ids_in(
        db, allowed, InitiativePartner.actor_id,
        InitiativePartner.initiative_id == initiative.id, InitiativePartner.state == "active",
    )
    if initiative.visibility != "members":
        return partners
    others = allowed - partners
    members = await _ids_in(
        db, others, TribeMember.actor_id,
        TribeMember.tribe_id == tribe.id, TribeMember.state == "active",
    )
    if not tribe.actor.local:
        # A local person joined a tribe elsewhere by following its Group.
        local = {i for i in others - members if people[i].local}
        members |= await _ids_in(
            db, local, Follow.follower_id,
            Follow.followed_id == tribe.actor_id, Follow.accepted.is_(True),
        )
    return partners | members


def _chunks(items: list[Actor], size: int = 500) -> list[list[Actor]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _ids_in(
    db: AsyncSession, ids: set[int], column: Any, *conditions: ColumnElement[bool]
) -> set[int]:
    """Those of ``ids`` found in ``column`` under ``conditions`` (asked in chunks)."""
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(await db.scalars(select(column).where(column.in_(chunk), *conditions)))
    return found


async def require_view(
    db: AsyncSession, initiative: Initiative, actor: Actor | None, *,
    known: Relation | None = None,
) -> None:
    """``NotFound`` when ``actor`` may not see it (hiding that it exists at all)."""
    if not await can_view(db, initiative, actor, known=known):
        raise NotFound("This initiative does not exist.")


async def can_edit(
    db: AsyncSession, initiative: Initiative, actor: Actor | None, *,
    known: Relation | None = None,
) -> bool:
    """Whether ``actor`` may edit, archive or delete it: the creator or an active partner."""
    if actor is None or initiative.deleted_at is not None:
        return False
    if initiative.creator_id == actor.id:
        return True
    return known.is_partner if known is not None else await is_partner(db, initiative, actor)


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
