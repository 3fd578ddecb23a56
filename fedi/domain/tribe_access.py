"""Who is what in a tribe: membership look-ups, role checks and tribe blocks.

The small questions every tribe service asks ("is this actor an admin here?", "is their
domain blocked?"), kept apart so members, invitations and moderation can share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub.vocab import host_of
from fedi.domain.errors import Forbidden
from models import Actor, Tribe, TribeBlock, TribeMember

# Higher rank includes the lower ones: an admin may do whatever a moderator may.
ROLE_RANK = {"member": 1, "moderator": 2, "admin": 3}


async def membership(db: AsyncSession, tribe: Tribe, actor: Actor) -> TribeMember | None:
    """The membership row of ``actor`` in ``tribe`` in any state, or None."""
    return await db.scalar(
        select(TribeMember).where(
            TribeMember.tribe_id == tribe.id, TribeMember.actor_id == actor.id
        )
    )


async def role_of(db: AsyncSession, tribe: Tribe, actor: Actor | None) -> str | None:
    """The role of an *active* member (admin, moderator, member), or None."""
    if actor is None:
        return None
    member = await membership(db, tribe, actor)
    if member is None or member.state != "active":
        return None
    return member.role


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed``."""
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


async def require_role(db: AsyncSession, tribe: Tribe, actor: Actor | None, needed: str) -> str:
    """The actor's role if it is at least ``needed``, else ``Forbidden``."""
    role = await role_of(db, tribe, actor)
    if not role_at_least(role, needed):
        if needed == "admin":
            raise Forbidden("Only admins of this tribe may do this.")
        if needed == "moderator":
            raise Forbidden("Only admins and moderators of this tribe may do this.")
        raise Forbidden("Only members of this tribe may do this.")
    assert role is not None
    return role


async def count_admins(db: AsyncSession, tribe: Tribe) -> int:
    """How many active admins the tribe has."""
    return int(
        await db.scalar(
            select(func.count(TribeMember.id)).where(
                TribeMember.tribe_id == tribe.id,
                TribeMember.state == "active",
                TribeMember.role == "admin",
            )
        )
        or 0
    )


def actor_domain(actor: Actor) -> str:
    """The host of an actor (with port), lower case."""
    return (actor.domain or host_of(actor.ap_id) or "").lower()


def domain_matches(blocked: str, host: str) -> bool:
    """Whether a block of ``blocked`` covers ``host``: the same host, or any of its ports.

    A block of ``example.org`` covers ``example.org:8443``; ``localhost:8001`` covers only
    that port (loopback test instances are told apart by port).
    """
    return blocked == host or blocked == host.rsplit(":", 1)[0]


def block_covers(tribe: Tribe, actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The SQL condition "this tribe block covers ``actor``" (by actor id or by domain)."""
    domain = actor_domain(actor)
    bare = domain.rsplit(":", 1)[0]
    return (
        TribeBlock.tribe_id == tribe.id,
        or_(TribeBlock.actor_ap_id == actor.ap_id, TribeBlock.domain.in_({domain, bare})),
    )


async def find_block(db: AsyncSession, tribe: Tribe, actor: Actor) -> TribeBlock | None:
    """The tribe block that covers ``actor`` (by actor id or by domain), or None."""
    return await db.scalar(select(TribeBlock).where(*block_covers(tribe, actor)).limit(1))


async def is_blocked(db: AsyncSession, tribe: Tribe, actor: Actor) -> bool:
    """Whether the tribe blocks ``actor`` or their whole domain."""
    return await find_block(db, tribe, actor) is not None


@dataclass(frozen=True)
class Standing:
    """Where one person stands in a tribe: their membership row (any state) and whether
    the tribe blocks them."""

    member: TribeMember | None
    blocked: bool

    @property
    def role(self) -> str | None:
        """The role of an *active* member, else None (as ``role_of``)."""
        if self.member is None or self.member.state != "active":
            return None
        return self.member.role


def block_parameters(tribe: Tribe, actor: Actor) -> dict[str, Any]:
    """The values for ``BLOCKED``."""
    domain = actor_domain(actor)
    return {
        "tribe_id": tribe.id, "actor_ap_id": actor.ap_id, "domain": domain,
        "bare": domain.rsplit(":", 1)[0],
    }


# ``block_covers`` with bound values, for statements built once (``block_parameters``).
BLOCKED = (
    select(TribeBlock.id)
    .where(
        TribeBlock.tribe_id == bindparam("tribe_id"),
        or_(
            TribeBlock.actor_ap_id == bindparam("actor_ap_id"),
            TribeBlock.domain.in_([bindparam("domain"), bindparam("bare")]),
        ),
    )
    .exists()
)
# Built once: every tribe page a logged-in person sees asks it. The outer join from a
# one-row anchor gives a row (and the block answer) for people without a membership too.
_STANDING = (
    select(TribeMember, BLOCKED.label("blocked"))
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(
        TribeMember,
        and_(
            TribeMember.tribe_id == bindparam("tribe_id"),
            TribeMember.actor_id == bindparam("actor_id"),
        ),
    )
    .options(lazyload(TribeMember.actor))
)


async def standing(db: AsyncSession, tribe: Tribe, actor: Actor) -> Standing:
    """``membership`` and ``is_blocked`` in one statement (a page asks both on every view).

    The membership row comes without its actor loaded: the caller knows who it asked about.
    """
    values = {**block_parameters(tribe, actor), "actor_id": actor.id}
    row = (await db.execute(_STANDING, values)).one()
    return Standing(row[0], bool(row[1]))
