"""Suspending a local account, by an admin: like deletion, but reversible.

Mastodon's way: a suspended account cannot log in, its pages answer 410 Gone, and its actor
document stays, with its key, carrying ``suspended: true``, so that other servers hide the
account (they learn it from the ``Update{Person}`` sent to everyone with a copy of the
person) and can show it again. Nothing is deleted: follows, notes, memberships stay.
Lifting the suspension sends ``Update{Person}`` again, without the flag.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_people import ProfileUpdated
from fedi.domain.names import normalise_name
from fedi.domain.suspension_mail import mail_suspension, mail_suspension_lifted
from fedi.domain.users import get_user
from fedi.settings import Settings
from models import Actor, ApObject, LoginSession, User, utcnow

__all__ = [
    "find_suspended_local_person",
    "is_suspended",
    "shown_author",
    "shown_object",
    "suspend_account",
    "suspended_objects",
    "unsuspend_account",
]

# The accounts whose content is hidden: suspended here, or by their own server.
_SUSPENDED_IDS = select(Actor.id).where(Actor.suspended_at.is_not(None)).scalar_subquery()


def shown_author(author_id: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """SQL condition: the content whose author is ``author_id`` may be shown.

    Mastodon hides everything a suspended account wrote (its posts, its replies in other
    people's threads) while the suspension lasts and shows it again when it is lifted, as
    nothing was deleted. The one rule every listing uses (tribe threads and outbox,
    initiative messages and comments, the home timeline); a NULL author (the system) is
    shown.
    """
    return or_(author_id.is_(None), author_id.not_in(_SUSPENDED_IDS))


def shown_object(ap_id: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """SQL condition: the object (or the activity about the object) ``ap_id`` may be shown,
    i.e. its author is not suspended (:func:`shown_author`), for rows that only name the
    object (a tribe's ``Announce``, an outbox entry)."""
    return ap_id.not_in(suspended_objects())


def suspended_objects() -> Select[str]:
    """The ids of the objects whose author is suspended (for ``IN`` conditions)."""
    return select(ApObject.ap_id).where(ApObject.attributed_to_id.in_(_SUSPENDED_IDS))


def is_suspended(actor: Actor | None) -> bool:
    """Whether ``actor`` is suspended (here, or by its own server)."""
    return actor is not None and actor.suspended_at is not None


async def find_suspended_local_person(db: AsyncSession, username: str) -> Actor | None:
    """The suspended (not deleted) local person called ``username``, or None."""
    return await db.scalar(
        select(Actor).where(
            Actor.local.is_(True),
            Actor.type == "Person",
            Actor.suspended_at.is_not(None),
            Actor.gone_at.is_(None),
            func.lower(Actor.username) == normalise_name(username),
        )
    )


async def _other_admins(db: AsyncSession, user: User) -> int:
    return int(
        await db.scalar(
            select(func.count(User.id)).where(
                User.is_admin.is_(True), User.disabled.is_(False), User.approved.is_(True),
                User.id != user.id,
            )
        )
        or 0
    )


async def suspend_account(
    db: AsyncSession, settings: Settings, username: str, *, acting: User | None,
    reason: str = "",
) -> User:
    """Suspend ``username``: no login, pages 410, other servers told; recorded in the audit."""
    user = await get_user(db, username)
    if acting is not None and user.id == acting.id:
        raise Forbidden("You cannot suspend your own account.")
    person = await db.get(Actor, user.actor_id)
    if person is None or person.gone_at is not None:
        raise ServiceError("This account has been deleted already.")
    if person.suspended_at is not None:
        return user
    if user.is_admin and await _other_admins(db, user) == 0:
        raise Conflict("This is the last admin; make someone else admin first.")
    person.suspended_at = utcnow()
    user.disabled = True
    await db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    await db.flush()
    await record_audit(
        db, "user.suspend", by=acting, target=Target("user", str(user.id), person.username),
        reason=reason,
    )
    # The document now says suspended: true; Update{Person} carries it to other servers.
    await emit(db, settings, ProfileUpdated(actor=person))
    await mail_suspension(db, settings, user, person, reason)
    return user


async def unsuspend_account(
    db: AsyncSession, settings: Settings, username: str, *, acting: User | None
) -> User:
    """Lift the suspension of ``username``: login again, pages back, other servers told."""
    user = await get_user(db, username)
    person = await db.get(Actor, user.actor_id)
    if person is None or person.suspended_at is None:
        return user
    person.suspended_at = None
    user.disabled = False
    await db.flush()
    await record_audit(
        db, "user.unsuspend", by=acting, target=Target("user", str(user.id), person.username),
    )
    await emit(db, settings, ProfileUpdated(actor=person))
    await mail_suspension_lifted(db, settings, user, person)
    return user
