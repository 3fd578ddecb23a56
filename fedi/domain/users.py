"""Looking up local users by name or e-mail address."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import NotFound
from fedi.domain.names import normalise_name
from models import Actor, User


async def find_user(db: AsyncSession, username: str) -> User | None:
    """The local user called ``username`` (case-insensitive), or None."""
    return await db.scalar(
        select(User)
        .join(Actor, Actor.id == User.actor_id)
        .where(Actor.local.is_(True), func.lower(Actor.username) == normalise_name(username))
    )


async def find_user_by_email(db: AsyncSession, email: str) -> User | None:
    """The local user with this e-mail address (case-insensitive), or None."""
    return await db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


async def get_user(db: AsyncSession, username: str) -> User:
    """The local user called ``username``; raises ``NotFound``."""
    user = await find_user(db, username)
    if user is None:
        raise NotFound("There is no account called %(name)s.", name=normalise_name(username))
    return user
