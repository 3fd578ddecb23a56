"""Tribe membership: joining per join mode, requests, leaving, removing and roles.

Every function takes the acting ``Actor`` (a local person from the web or the CLI, or a
remote one whose Follow/Join/Leave came in through the inbox), so the rules hold the same
way for both. After each change ``tribe_changes.membership_changed`` keeps the Group follow
in step and emits the matching event (``fedi.domain.events_tribes``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_tribes import RoleChanged
from fedi.domain.tribe_access import (
    ROLE_RANK,
    count_admins,
    is_blocked,
    membership,
    require_role,
    role_at_least,
)
from fedi.domain.tribe_changes import membership_changed, record_event
from fedi.domain.tribe_tokens import use_token
from fedi.settings import Settings
from models import Actor, Tribe, TribeMember, utcnow

ROLES = ("admin", "moderator", "member")
MAX_MESSAGE = 1000


async def join(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    actor: Actor,
    *,
    message: str = "",
    activity_id: str | None = None,
    invite_token: str | None = None,
) -> TribeMember:
    """``actor`` asks to join ``tribe``; returns the membership (active or pending).

    * open tribe: an active member at once;
    * approval tribe: a pending request for the admins and moderators;
    * invite-only tribe: only someone invited (an invitation for them, or a valid
      invitation link/e-mail token) gets in; others get ``Forbidden``.

    An invitation for the actor or a valid ``invite_token`` admits them directly in any
    mode. Blocked people and domains get ``Forbidden``. Joining again is harmless: the row
    is returned, with ``activity_id`` updated (a repeated Follow must be answered again).
    ``activity_id`` is the Follow or Join that asked, kept to answer it later.
    """
    if actor.id == tribe.actor_id:
        raise Conflict("A tribe cannot join itself.")
    if await is_blocked(db, tribe, actor):
        raise Forbidden("This tribe does not accept you as a member.")
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise ServiceError(
            "Please keep it under %(max)s characters.", field="message", max=MAX_MESSAGE
        )
    member = await membership(db, tribe, actor)
    if member is not None and member.state in ("active", "pending"):
        if activity_id and activity_id != member.activity_ap_id:
            member.activity_ap_id = activity_id
            await db.flush()
            change = "joined" if member.state == "active" else "requested"
            await membership_changed(db, settings, tribe, member, change, actor)
        return member
    admitted = member is not None and member.state == "invited"
    if not admitted and invite_token:
        await use_token(db, tribe, invite_token, actor)
        admitted = True
    if admitted or tribe.join_mode == "open":
        state, change = "active", "joined"
    elif tribe.join_mode == "approval":
        state, change = "pending", "requested"
    else:
        raise Forbidden("This tribe is open by invitation only.")
    if member is None:
        member = TribeMember(tribe_id=tribe.id, actor_id=actor.id, role="member")
        member.actor = actor
        db.add(member)
    member.message = message
    member.state = state
    if state == "active":
        member.joined_at = utcnow()
    if activity_id:
        member.activity_ap_id = activity_id
    await db.flush()
    await record_event(db, tribe, change, subject_id=actor.id)
    await membership_changed(db, settings, tribe, member, change, actor)
    return member


async def leave(db: AsyncSession, settings: Settings, tribe: Tribe, actor: Actor) -> TribeMember:
    """``actor`` leaves ``tribe`` (or withdraws a request, or declines an invitation).

    The last admin cannot leave: they make someone else admin first.
    """
    member = await membership(db, tribe, actor)
    if member is None:
        raise NotFound("You are not a member of this tribe.")
    if member.state == "active" and member.role == "admin" and await count_admins(db, tribe) <= 1:
        raise Conflict(
            "You are the last admin of this tribe. Make someone else admin before you leave."
        )
    change = "declined" if member.state == "invited" else "left"
    await db.delete(member)
    await db.flush()
    await record_event(db, tribe, change, subject_id=actor.id)
    await membership_changed(db, settings, tribe, member, change, actor)
    return member


async def _target_member(db: AsyncSession, tribe: Tribe, target: Actor, state: str) -> TribeMember:
    member = await membership(db, tribe, target)
    if member is None or member.state != state:
        if state == "pending":
            raise NotFound("There is no request to join from %(name)s.", name=target.handle)
        raise NotFound("%(name)s is not a member of this tribe.", name=target.handle)
    return member


async def approve_request(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, target: Actor
) -> TribeMember:
    """An admin or moderator lets a pending request in."""
    await require_role(db, tribe, by, "moderator")
    member = await _target_member(db, tribe, target, "pending")
    member.state = "active"
    member.joined_at = utcnow()
    await db.flush()
    await record_event(db, tribe, "approved", subject_id=target.id, by_id=by.id)
    await membership_changed(db, settings, tribe, member, "approved", by)
    return member


async def reject_request(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, target: Actor
) -> TribeMember:
    """An admin or moderator refuses a pending request (the person may ask again later)."""
    await require_role(db, tribe, by, "moderator")
    member = await _target_member(db, tribe, target, "pending")
    await db.delete(member)
    await db.flush()
    await record_event(db, tribe, "rejected", subject_id=target.id, by_id=by.id)
    await membership_changed(db, settings, tribe, member, "rejected", by)
    return member


async def remove_member(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, target: Actor
) -> TribeMember:
    """Remove a member (or withdraw an invitation).

    Admins may remove anyone but themselves (they leave instead); moderators may remove
    only plain members.
    """
    actor_role = await require_role(db, tribe, by, "moderator")
    if target.id == by.id:
        raise Conflict("You cannot remove yourself; leave the tribe instead.")
    member = await membership(db, tribe, target)
    if member is None or member.state == "pending":
        raise NotFound("%(name)s is not a member of this tribe.", name=target.handle)
    if member.role != "member" and actor_role != "admin":
        raise Forbidden("Only admins may remove admins and moderators.")
    await db.delete(member)
    await db.flush()
    await record_event(db, tribe, "removed", subject_id=target.id, by_id=by.id)
    await record_audit(
        db, "tribe.member_remove", by=by, target=Target("tribe", str(tribe.id), tribe.slug),
        details={"person": target.handle, "role": member.role},
    )
    await membership_changed(db, settings, tribe, member, "removed", by)
    return member


async def set_role(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, target: Actor, role: str
) -> TribeMember:
    """An admin changes an active member's role; the last admin cannot be demoted."""
    await require_role(db, tribe, by, "admin")
    role = role.strip().lower()
    if role not in ROLES:
        raise ServiceError(
            "Please choose one of: %(choices)s.", field="role", choices=", ".join(ROLES)
        )
    member = await _target_member(db, tribe, target, "active")
    old = member.role
    if old == role:
        return member
    if old == "admin" and await count_admins(db, tribe) <= 1:
        raise Conflict("This is the last admin of the tribe; make someone else admin first.")
    member.role = role
    await db.flush()
    await record_event(
        db, tribe, "role", subject_id=target.id, by_id=by.id, detail=f"{old}->{role}"
    )
    await record_audit(
        db, "tribe.role", by=by, target=Target("tribe", str(tribe.id), tribe.slug),
        details={"person": target.handle, "old": old, "new": role},
    )
    await emit(
        db, settings,
        RoleChanged(
            actor=by, tribe=tribe, member=member, person=target, old_role=old, new_role=role
        ),
    )
    return member


async def get_member(db: AsyncSession, tribe: Tribe, member_id: int) -> TribeMember:
    """A membership row of this tribe by its id; raises ``NotFound``."""
    member = await db.get(TribeMember, member_id)
    if member is None or member.tribe_id != tribe.id:
        raise NotFound("This membership does not exist (any more).")
    return member


async def list_members(
    db: AsyncSession, tribe: Tribe, *, state: str = "active", limit: int = 500, offset: int = 0,
    roles: tuple[str, ...] | None = None,
) -> list[TribeMember]:
    """Memberships in ``state``: admins first, then moderators, then members by join date.

    ``roles`` keeps only those roles (the core team of a tribe with thousands of members is
    then read through the index instead of sorting every membership).
    """
    values: dict[str, Any] = {
        "tribe_id": tribe.id, "state": state, "limit": limit, "offset": offset,
    }
    if roles is None:
        rows = await db.scalars(_MEMBERS, values)
    else:
        rows = await db.scalars(_MEMBERS_IN_ROLES, {**values, "roles": list(roles)})
    return list(rows.unique().all())


def _members_statement(*, in_roles: bool) -> Any:
    """``list_members``'s statement, built once with its values bound per call (every tribe
    page lists the core team)."""
    rank = case(
        {name: -value for name, value in ROLE_RANK.items()}, value=TribeMember.role, else_=0
    )
    conditions = [
        TribeMember.tribe_id == bindparam("tribe_id"), TribeMember.state == bindparam("state"),
    ]
    if in_roles:
        conditions.append(TribeMember.role.in_(bindparam("roles", expanding=True)))
    return (
        select(TribeMember)
        .where(*conditions)
        # Lists show names and handles: no second query for every member's talents.
        .options(defaultload(TribeMember.actor).lazyload(Actor.talents))
        .order_by(rank, TribeMember.joined_at, TribeMember.created_at, TribeMember.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


_MEMBERS = _members_statement(in_roles=False)
_MEMBERS_IN_ROLES = _members_statement(in_roles=True)


async def tribes_of(db: AsyncSession, actor: Actor) -> list[tuple[Tribe, TribeMember]]:
    """The tribes ``actor`` belongs to (any state), with the membership row."""
    rows = await db.execute(
        select(Tribe, TribeMember)
        .join(TribeMember, TribeMember.tribe_id == Tribe.id)
        .where(TribeMember.actor_id == actor.id)
        .order_by(Tribe.slug)
    )
    return [(tribe, member) for tribe, member in rows.unique().all()]


def can_manage(role: str | None, target: TribeMember) -> bool:
    """Whether someone with ``role`` may remove ``target`` (for showing buttons)."""
    if role == "admin":
        return True
    return role_at_least(role, "moderator") and target.role == "member"
