"""What every membership change of a tribe does besides the change itself.

The tribe services (members, invitations, moderation) call :func:`membership_changed`
after a change is flushed: it keeps the member's ``Follow`` of the tribe's ``Group`` actor
in step and emits the matching event (``fedi.domain.events_tribes``). A member who came in
over ActivityPub (a remote person, or a local one who followed the Group) follows the Group
too, so the tribe's announces reach them; people who join on the web are members without
following (members and followers are separate numbers on the tribe pages).
:func:`record_event` writes the history shown on ``/tribes/<slug>/activity``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.events import emit
from fedi.domain.events_tribes import membership_event
from fedi.settings import Settings
from models import Actor, Follow, Tribe, TribeEvent, TribeMember, utcnow

__all__ = ["MEMBERSHIP_CHANGES", "membership_changed", "record_event"]

# The ``change`` values:
#   "joined"    an active member now (open tribe, accepted invitation, valid link token)
#   "requested" a pending request in an approval tribe (admins decide)
#   "approved"  an admin or moderator approved a pending request
#   "rejected"  a pending request was refused; the row is already deleted
#   "invited"   an invitation for this actor
#   "declined"  the invited person said no; the row is already deleted
#   "left"      the member left (Undo{Follow}/Leave came in, or the web button)
#   "removed"   an admin or moderator removed them, or a block did; the row is deleted
MEMBERSHIP_CHANGES = (
    "joined", "requested", "approved", "rejected", "invited", "declined", "left", "removed",
)


async def _follow_row(db: AsyncSession, tribe: Tribe, person_id: int) -> Follow | None:
    return await db.scalar(
        select(Follow).where(Follow.follower_id == person_id, Follow.followed_id == tribe.actor_id)
    )


async def _set_follow(
    db: AsyncSession, tribe: Tribe, person: Actor, activity_id: str | None, accepted: bool
) -> None:
    """Make ``person`` a follower of the tribe's Group actor (pending or accepted).

    A remote person always follows (that is how the tribe's announces reach their
    server); a local person only keeps the follow they asked for (``follows.follow``).
    """
    row = await _follow_row(db, tribe, person.id)
    if row is None:
        if person.local:
            return
        row = Follow(
            follower_id=person.id, followed_id=tribe.actor_id,
            activity_ap_id=activity_id or f"{tribe.actor.ap_id}#member-{person.id}",
        )
        db.add(row)
    elif activity_id:
        row.activity_ap_id = activity_id
    if accepted and not row.accepted:
        row.accepted = True
        row.accepted_at = utcnow()
    await db.flush()


async def _drop_follow(db: AsyncSession, tribe: Tribe, person_id: int) -> None:
    row = await _follow_row(db, tribe, person_id)
    if row is not None:
        await db.delete(row)
        await db.flush()


async def membership_changed(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    member: TribeMember,
    change: str,
    actor: Actor,
) -> None:
    """Keep the follow of the Group in step with ``member`` and emit the event for ``change``.

    ``actor`` made the change (the person themselves, or the admin who decided).
    """
    person = await db.get(Actor, member.actor_id)
    if person is None:
        return
    if change in ("joined", "approved"):
        await _set_follow(db, tribe, person, member.activity_ap_id, accepted=True)
    elif change == "requested":
        await _set_follow(db, tribe, person, member.activity_ap_id, accepted=False)
    elif change in ("rejected", "removed", "left", "declined"):
        await _drop_follow(db, tribe, person.id)
    await emit(
        db, settings,
        membership_event(change, actor=actor, tribe=tribe, member=member, person=person),
    )


async def record_event(
    db: AsyncSession,
    tribe: Tribe,
    kind: str,
    *,
    subject_id: int | None = None,
    by_id: int | None = None,
    detail: str = "",
) -> TribeEvent:
    """Add one entry to the tribe's history."""
    event = TribeEvent(
        tribe_id=tribe.id, kind=kind, subject_id=subject_id, by_id=by_id, detail=detail[:255]
    )
    db.add(event)
    await db.flush()
    return event
