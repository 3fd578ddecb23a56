"""What this server holds of a tribe on another server, for that tribe's page here.

A remote tribe row (``fedi.domain.remote_tribes``) stands for a ``Group`` elsewhere. Its
members, rules and moderation live on its own server; here we know who of *our* people
joined it (their follow of the Group was accepted), the initiatives we keep a copy of (they
carry the row's ``tribe_id``), and the posts the Group boosted to us.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, ApObject, Follow, Reaction, Tribe


def _local_member_conditions(tribe: Tribe) -> tuple[object, ...]:
    return (
        Follow.followed_id == tribe.actor_id,
        Follow.accepted.is_(True),
        Actor.local.is_(True),
    )


async def count_local_members(db: AsyncSession, tribe: Tribe) -> int:
    """How many people of this server joined the remote tribe."""
    count = await db.scalar(
        select(func.count(Follow.id))
        .join(Actor, Actor.id == Follow.follower_id)
        .where(*_local_member_conditions(tribe))  # type: ignore[arg-type]
    )
    return int(count or 0)


async def local_members(db: AsyncSession, tribe: Tribe, *, limit: int = 20) -> list[Actor]:
    """People of this server who joined the remote tribe, the most recent first."""
    rows = await db.scalars(
        select(Actor)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(*_local_member_conditions(tribe))  # type: ignore[arg-type]
        .order_by(Follow.accepted_at.desc(), Follow.id.desc())
        .limit(limit)
    )
    return list(rows.unique().all())


async def boosted_posts(
    db: AsyncSession, tribe: Tribe, *, limit: int = 10
) -> list[tuple[ApObject, Actor | None]]:
    """The posts the remote tribe's Group boosted to us (how FEP-1b12 groups distribute
    them to followers) with their authors, newest first; deleted ones are left out."""
    rows = await db.execute(
        select(ApObject, Actor)
        .join(Reaction, Reaction.object_ap_id == ApObject.ap_id)
        .outerjoin(Actor, Actor.id == ApObject.attributed_to_id)
        .where(
            Reaction.actor_id == tribe.actor_id,
            Reaction.kind == "Announce",
            ApObject.deleted_at.is_(None),
            ApObject.visibility.in_(("public", "unlisted")),
        )
        .order_by(Reaction.created_at.desc(), Reaction.id.desc())
        .limit(limit)
    )
    return [(obj, author) for obj, author in rows.unique().all()]
