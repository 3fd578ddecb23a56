"""Deleting a local account, by its owner (with the password) or by an admin.

Deletion is effective at once, as on Mastodon: in one transaction :class:`AccountDeleted`
is emitted first (its federation subscriber reads the followers and the servers that know
the person and queues ``Delete{Person}`` for them, so it must run before those rows go), and
then everything personal is removed: notes become Tombstones, follows both ways, tribe
memberships, initiative roles, supports, reactions, talents, profile text, avatar, inbox,
notifications, and the account itself (its sessions, tokens and reset links go with it).

What others built stays whole: initiatives the person started remain, and their comments
and updates remain, shown with "deleted account" as author. The ``Actor`` row stays as the
marker of a deleted person (``gone_at`` set, as for a remote actor that answered 410): the
name cannot be registered again, its id answers 410 Gone with a Tombstone, and its private
key is kept so the queued ``Delete`` can still be signed (Mastodon keeps it too).

A tribe whose only admin is deleted is handed to its longest-standing other local member
(made admin) rather than refused: refusing would let a tribe keep someone from leaving.
A tribe without any other local member stays without admin; instance admins moderate it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import media
from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_people import AccountDeleted
from fedi.domain.follows import drop_follows_of
from fedi.domain.names import normalise_name
from fedi.domain.notes import tombstone
from fedi.domain.passwords import verify_password
from fedi.domain.users import get_user
from fedi.settings import Settings
from models import (
    Actor,
    ActorTalent,
    ApObject,
    InboxEntry,
    InitiativePartner,
    InitiativeSupporter,
    Notification,
    NotificationSetting,
    Reaction,
    Tribe,
    TribeMember,
    User,
    utcnow,
)

__all__ = [
    "admin_delete_account",
    "delete_account",
    "find_deleted_local_person",
    "forget_person",
    "is_deleted",
]


def is_deleted(actor: Actor | None) -> bool:
    """Whether ``actor`` is a deleted account (ours, or a remote one that said so)."""
    return actor is not None and actor.gone_at is not None


async def find_deleted_local_person(db: AsyncSession, username: str) -> Actor | None:
    """The deleted local person once called ``username`` (case-insensitive), or None."""
    return await db.scalar(
        select(Actor).where(
            Actor.local.is_(True),
            Actor.type == "Person",
            Actor.gone_at.is_not(None),
            func.lower(Actor.username) == normalise_name(username),
        )
    )


async def _hand_over_tribes(db: AsyncSession, person: Actor) -> None:
    """Make another local member admin of every local tribe ``person`` alone administers."""
    tribe_ids = (
        await db.scalars(
            select(TribeMember.tribe_id)
            .join(Tribe, Tribe.id == TribeMember.tribe_id)
            .join(Actor, Actor.id == Tribe.actor_id)
            .where(
                TribeMember.actor_id == person.id,
                TribeMember.state == "active",
                TribeMember.role == "admin",
                Actor.local.is_(True),
            )
        )
    ).all()
    for tribe_id in tribe_ids:
        admins = await db.scalar(
            select(func.count(TribeMember.id)).where(
                TribeMember.tribe_id == tribe_id,
                TribeMember.state == "active",
                TribeMember.role == "admin",
                TribeMember.actor_id != person.id,
            )
        )
        if admins:
            continue
        heir = await db.scalar(
            select(TribeMember)
            .join(Actor, Actor.id == TribeMember.actor_id)
            .where(
                TribeMember.tribe_id == tribe_id,
                TribeMember.state == "active",
                TribeMember.actor_id != person.id,
                Actor.local.is_(True),
                Actor.gone_at.is_(None),
            )
            # Moderators first, then whoever joined earliest.
            .order_by((TribeMember.role == "moderator").desc(), TribeMember.id)
            .limit(1)
        )
        if heir is not None:
            heir.role = "admin"


async def forget_person(db: AsyncSession, person: Actor, when: datetime) -> None:
    """Remove what ``person`` (local or remote) had here, keeping others' work whole.

    Shared by local deletion and an inbound ``Delete{Person}``: follows both ways, notes
    (to Tombstones), reactions, tribe memberships, initiative roles and supports, talents.
    Comments and initiatives stay; pages show their author as a deleted account.
    """
    person.gone_at = when
    await drop_follows_of(db, person)
    await db.execute(delete(Reaction).where(Reaction.actor_id == person.id))
    notes = (
        await db.scalars(
            select(ApObject).where(
                ApObject.attributed_to_id == person.id, ApObject.deleted_at.is_(None)
            )
        )
    ).all()
    for note in notes:
        tombstone(note, when)
    await db.execute(delete(TribeMember).where(TribeMember.actor_id == person.id))
    await db.execute(delete(InitiativePartner).where(InitiativePartner.actor_id == person.id))
    await db.execute(
        delete(InitiativeSupporter).where(InitiativeSupporter.actor_id == person.id)
    )
    await db.execute(delete(ActorTalent).where(ActorTalent.actor_id == person.id))
    await db.flush()
    # The selectin-loaded talents would otherwise still show in this session.
    await db.refresh(person, ["talents"])


async def _other_admins(db: AsyncSession, user: User) -> int:
    """How many other enabled, approved admins there are besides ``user``."""
    return int(
        await db.scalar(
            select(func.count(User.id)).where(
                User.is_admin.is_(True),
                User.disabled.is_(False),
                User.approved.is_(True),
                User.id != user.id,
            )
        )
        or 0
    )


async def _delete(db: AsyncSession, settings: Settings, user: User) -> None:
    """Delete ``user``'s account now (see the module docstring), in the caller's transaction."""
    person = await db.get(Actor, user.actor_id)
    if person is None or person.gone_at is not None:
        raise ServiceError("This account has been deleted already.")
    if user.is_admin and await _other_admins(db, user) == 0:
        raise Conflict("This is the last admin; make someone else admin first.")
    await db.flush()
    # First: the subscriber addresses Delete{Person} to followers and followed, still here.
    await emit(db, settings, AccountDeleted(actor=person))
    now = utcnow()
    await _hand_over_tribes(db, person)
    await forget_person(db, person, now)
    old_avatar = person.avatar_path
    person.avatar_path = None
    person.display_name = ""
    person.bio_source = ""
    person.bio_html = ""
    person.location = ""
    person.links = []
    person.languages = []
    person.discoverable = False
    # What only the person could read: their inbox and notifications.
    await db.execute(delete(InboxEntry).where(InboxEntry.actor_id == person.id))
    await db.execute(delete(Notification).where(Notification.recipient_id == person.id))
    await db.execute(
        delete(NotificationSetting).where(NotificationSetting.actor_id == person.id)
    )
    await db.execute(delete(User).where(User.id == user.id))
    await db.flush()
    if old_avatar:
        media.delete_upload(settings, old_avatar)


async def delete_account(db: AsyncSession, settings: Settings, user: User, password: str) -> None:
    """Delete the caller's own account, confirmed with its password (``ServiceError`` if not)."""
    matches, _ = verify_password(user.password_hash, password)
    if not matches:
        raise ServiceError("The password is not right.", field="delete_password")
    await _delete(db, settings, user)


async def admin_delete_account(
    db: AsyncSession, settings: Settings, username: str, *, acting: User
) -> None:
    """An admin deletes someone's account: the same effects, and an audit entry."""
    user = await get_user(db, username)
    if user.id == acting.id:
        raise Forbidden("Delete your own account on your account page.")
    await record_audit(
        db, "user.delete", by=acting,
        target=Target("user", str(user.id), user.actor.username),
    )
    await _delete(db, settings, user)
