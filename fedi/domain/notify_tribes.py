"""Notifications about tribes, hung off the tribe services' domain events.

Join requests go to the tribe's admins and moderators, the answer to the requester, an
invitation to the invited person, new members to the admins, reports to the moderators
(or, outside a tribe, to the instance's admins), and moderation decisions (a held post
rejected, removed from the tribe, blocked, a new role) to the person concerned. Remote
people are left out by :func:`fedi.domain.notifications.notify` itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.events import subscribes
from fedi.domain.events_tribes import (
    HeldPostDecided,
    JoinApproved,
    JoinRejected,
    JoinRequested,
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    ReportFiled,
    RoleChanged,
    TribeBlocked,
)
from fedi.domain.notifications import notify
from fedi.domain.tribe_access import find_block
from fedi.settings import Settings
from models import Actor, Tribe, TribeMember, User

__all__ = ["tribe_staff"]


def _about(tribe: Tribe, **more: object) -> dict[str, object]:
    return {"tribe": tribe.name, "slug": tribe.slug, **more}


async def tribe_staff(db: AsyncSession, tribe: Tribe, roles: tuple[str, ...]) -> list[Actor]:
    """The active members of ``tribe`` with one of ``roles``."""
    rows = await db.scalars(
        select(Actor)
        .join(TribeMember, TribeMember.actor_id == Actor.id)
        .where(
            TribeMember.tribe_id == tribe.id,
            TribeMember.state == "active",
            TribeMember.role.in_(roles),
        )
    )
    return list(rows.unique().all())


@subscribes(JoinRequested)
async def _join_requested(db: AsyncSession, settings: Settings, event: JoinRequested) -> None:
    staff = await tribe_staff(db, event.tribe, ("admin", "moderator"))
    await notify(db, staff, "tribe_join_requested", by=event.person, payload=_about(event.tribe))


@subscribes(JoinApproved)
async def _join_approved(db: AsyncSession, settings: Settings, event: JoinApproved) -> None:
    await notify(
        db, [event.person], "tribe_join_approved", by=event.actor, payload=_about(event.tribe)
    )


@subscribes(JoinRejected)
async def _join_rejected(db: AsyncSession, settings: Settings, event: JoinRejected) -> None:
    await notify(
        db, [event.person], "tribe_join_rejected", by=event.actor, payload=_about(event.tribe)
    )


@subscribes(MemberInvited)
async def _invited(db: AsyncSession, settings: Settings, event: MemberInvited) -> None:
    # An e-mail invitation claimed at login names the person as the actor: nobody to show.
    by = event.actor if event.actor.id != event.person.id else None
    await notify(db, [event.person], "tribe_invited", by=by, payload=_about(event.tribe))


@subscribes(MemberJoined)
async def _joined(db: AsyncSession, settings: Settings, event: MemberJoined) -> None:
    admins = await tribe_staff(db, event.tribe, ("admin",))
    await notify(db, admins, "tribe_member_joined", by=event.person, payload=_about(event.tribe))


@subscribes(MemberRemoved)
async def _removed(db: AsyncSession, settings: Settings, event: MemberRemoved) -> None:
    if event.actor.id == event.person.id:
        return
    # A block removes the member too: the block's own notification says it all.
    if await find_block(db, event.tribe, event.person) is not None:
        return
    await notify(db, [event.person], "member_removed", by=event.actor, payload=_about(event.tribe))


@subscribes(TribeBlocked)
async def _blocked(db: AsyncSession, settings: Settings, event: TribeBlocked) -> None:
    ap_id = event.block.actor_ap_id
    if not ap_id:
        return  # a whole domain: its people are not ours to tell
    person = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    if person is not None:
        await notify(db, [person], "tribe_blocked", by=event.actor, payload=_about(event.tribe))


@subscribes(RoleChanged)
async def _role_changed(db: AsyncSession, settings: Settings, event: RoleChanged) -> None:
    await notify(
        db, [event.person], "role_changed", by=event.actor,
        payload=_about(event.tribe, role=event.new_role, old_role=event.old_role),
    )


@subscribes(HeldPostDecided)
async def _held_post_decided(
    db: AsyncSession, settings: Settings, event: HeldPostDecided
) -> None:
    if event.held.state != "rejected":
        return
    author = await db.get(Actor, event.held.actor_id)
    if author is not None:
        await notify(
            db, [author], "post_removed", by=event.actor,
            payload=_about(event.tribe, object=event.held.object_ap_id or ""),
        )


@subscribes(ReportFiled)
async def _report_filed(db: AsyncSession, settings: Settings, event: ReportFiled) -> None:
    if event.tribe is not None:
        moderators = await tribe_staff(db, event.tribe, ("admin", "moderator"))
        payload = _about(event.tribe, report_id=event.report.id)
    else:
        moderators = list(
            (await db.scalars(
                select(Actor).join(User, User.actor_id == Actor.id).where(
                    User.is_admin.is_(True), User.disabled.is_(False)
                )
            )).unique().all()
        )
        payload = {"report_id": event.report.id, "url": settings.url("/admin")}
    await notify(
        db, moderators, "report", by=event.actor,
        payload={**payload, "comment": event.report.comment[:200]},
    )
