"""Tribes on other servers, as far as initiatives need them here.

An initiative lives in one tribe (``Initiative.tribe_id``). When a person of this instance
starts an initiative in a tribe on another server, or we keep a copy of an initiative that a
remote tribe announced, the initiative needs a ``Tribe`` row for that remote ``Group``: a
*remote tribe* row. Its ``slug`` is the group's handle (``name@host``), which can never
collide with a local slug (local names have no ``@``). The remote server enforces the
tribe's rules itself when it receives the ``Create{Page}`` (FEP-1b12): here a local person
needs an accepted follow of the group (that is how they joined it), and an initiative the
group announced is taken as decided there.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, Follow, Tribe

SLUG_LIMIT = 64


def is_remote_tribe(tribe: Tribe) -> bool:
    """Whether ``tribe`` is the row of a ``Group`` on another server."""
    return not tribe.actor.local


async def ensure_remote_tribe(db: AsyncSession, group: Actor) -> Tribe:
    """The remote tribe row of ``group`` (a remote ``Group`` actor), made on first use."""
    if group.local or group.type != "Group":
        raise ValueError("only a remote Group has a remote tribe row")
    found = await db.scalar(select(Tribe).where(Tribe.actor_id == group.id))
    if found is not None:
        return found
    base = f"{group.username}@{group.domain}".lower()[:SLUG_LIMIT]
    slug, number = base, 1
    while await db.scalar(select(Tribe.id).where(Tribe.slug == slug)) is not None:
        number += 1
        suffix = f"-{number}"
        slug = base[: SLUG_LIMIT - len(suffix)] + suffix
    tribe = Tribe(actor_id=group.id, slug=slug, tags=[], join_mode="open")
    tribe.actor = group
    db.add(tribe)
    await db.flush()
    return tribe


async def may_start_in_remote_tribe(db: AsyncSession, tribe: Tribe, actor: Actor) -> bool:
    """Whether ``actor`` may start an initiative in the remote ``tribe`` (see module notes)."""
    if not actor.local:
        # What the group's own server accepted and announced is its decision, not ours.
        return True
    if actor.type != "Person":
        return False
    return await joined_remote_tribe(db, tribe, actor)


async def joined_remote_tribe(db: AsyncSession, tribe: Tribe, actor: Actor) -> bool:
    """Whether ``actor`` joined the remote ``tribe``: the Group accepted their ``Follow``.

    The accepted follow is our record of a membership kept on another server.
    """
    follow = await db.scalar(
        select(Follow.id).where(
            Follow.follower_id == actor.id,
            Follow.followed_id == tribe.actor_id,
            Follow.accepted.is_(True),
        )
    )
    return follow is not None
