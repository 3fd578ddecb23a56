"""Tribe moderation: blocking people and domains, held posts and reports.

Admins and moderators (the core team) of a tribe moderate it. A block removes the
memberships it covers and refuses later joins. Posts from non-members of a closed tribe
wait as ``HeldPost`` rows; reports (``Flag``) come from local and remote people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import host_of
from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_tribes import HeldPostDecided, ReportFiled, TribeBlocked
from fedi.domain.tribe_access import actor_domain, domain_matches, require_role
from fedi.domain.tribe_changes import membership_changed, record_event
from fedi.domain.tribe_posts import hold_post, known_thread_posts, take_post
from fedi.settings import Settings
from models import Actor, ApObject, HeldPost, Report, Tribe, TribeBlock, TribeMember, utcnow

MAX_REASON = 1000
MAX_COMMENT = 5000
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?$")

__all__ = [
    "block_actor",
    "block_domain",
    "decide_held_post",
    "file_report",
    "hold_post",
    "list_blocks",
    "list_held_posts",
    "list_reports",
    "resolve_report",
    "unblock",
]


def tribe_target(tribe: Tribe) -> Target:
    """A tribe as the target of an audit entry."""
    return Target("tribe", str(tribe.id), tribe.slug)


def _reason(value: str) -> str:
    reason = value.strip()
    if len(reason) > MAX_REASON:
        raise ServiceError(
            "Please keep it under %(max)s characters.", field="reason", max=MAX_REASON
        )
    return reason


async def _remove_blocked_members(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, members: Iterable[TribeMember]
) -> None:
    for member in list(members):
        await db.delete(member)
        await db.flush()
        await record_event(
            db, tribe, "removed", subject_id=member.actor_id, by_id=by.id, detail="blocked"
        )
        await membership_changed(db, settings, tribe, member, "removed", by)


async def block_actor(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, target: Actor, reason: str = ""
) -> TribeBlock:
    """Block one person for the tribe (admins and moderators); their membership ends.

    Admins cannot be blocked (demote them first); moderators block only plain members and
    outsiders.
    """
    role = await require_role(db, tribe, by, "moderator")
    if target.id in (by.id, tribe.actor_id):
        raise Conflict("You cannot block yourself.")
    existing = await db.scalar(
        select(TribeMember).where(
            TribeMember.tribe_id == tribe.id, TribeMember.actor_id == target.id
        )
    )
    if existing is not None and existing.state == "active" and existing.role != "member":
        if existing.role == "admin":
            raise Forbidden("An admin cannot be blocked; change their role first.")
        if role != "admin":
            raise Forbidden("Only admins may block admins and moderators.")
    block = await db.scalar(
        select(TribeBlock).where(
            TribeBlock.tribe_id == tribe.id, TribeBlock.actor_ap_id == target.ap_id
        )
    )
    if block is None:
        block = TribeBlock(
            tribe_id=tribe.id, actor_ap_id=target.ap_id, reason=_reason(reason),
            created_by_id=by.id,
        )
        db.add(block)
        await db.flush()
    if existing is not None:
        await _remove_blocked_members(db, settings, tribe, by, [existing])
    await record_event(
        db, tribe, "blocked", subject_id=target.id, by_id=by.id, detail=target.handle
    )
    await record_audit(
        db, "tribe.block", by=by, target=tribe_target(tribe), reason=block.reason,
        details={"person": target.handle},
    )
    await emit(db, settings, TribeBlocked(actor=by, tribe=tribe, block=block))
    return block


def normalise_domain(raw: str) -> str:
    """A typed domain (or URL, or handle) as ``host[:port]`` in lower case."""
    value = raw.strip().lower()
    if "://" in value:
        value = host_of(value)
    value = value.lstrip("@").rsplit("@", 1)[-1].strip("/")
    if not value or len(value) > 255 or not _DOMAIN.match(value):
        raise ServiceError("This does not look like a domain (like example.org).", field="domain")
    return value


async def block_domain(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, domain: str, reason: str = ""
) -> TribeBlock:
    """Block a whole remote domain for the tribe (admins and moderators).

    Memberships of people from there end, except admins and moderators (an admin must
    change their role first, so a block never leaves a tribe without admins).
    """
    await require_role(db, tribe, by, "moderator")
    host = normalise_domain(domain)
    if host == settings.host.lower():
        raise ServiceError("You cannot block this instance itself.", field="domain")
    block = await db.scalar(
        select(TribeBlock).where(TribeBlock.tribe_id == tribe.id, TribeBlock.domain == host)
    )
    if block is None:
        block = TribeBlock(
            tribe_id=tribe.id, domain=host, reason=_reason(reason), created_by_id=by.id
        )
        db.add(block)
        await db.flush()
    members = await db.scalars(
        select(TribeMember).where(TribeMember.tribe_id == tribe.id)
    )
    affected = [
        member for member in members.unique().all()
        if domain_matches(host, actor_domain(member.actor))
    ]
    staff = [m for m in affected if m.state == "active" and m.role != "member"]
    if staff:
        raise Forbidden(
            "Admins or moderators of this tribe come from %(domain)s; change their roles first.",
            domain=host,
        )
    await _remove_blocked_members(db, settings, tribe, by, affected)
    await record_event(db, tribe, "blocked", by_id=by.id, detail=host)
    await record_audit(
        db, "tribe.block", by=by, target=tribe_target(tribe), reason=block.reason,
        details={"domain": host},
    )
    await emit(db, settings, TribeBlocked(actor=by, tribe=tribe, block=block))
    return block


async def unblock(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, block_id: int
) -> None:
    """Lift a tribe block (admins and moderators)."""
    await require_role(db, tribe, by, "moderator")
    block = await db.get(TribeBlock, block_id)
    if block is None or block.tribe_id != tribe.id:
        raise NotFound("This block does not exist.")
    await db.delete(block)
    await db.flush()
    await record_event(
        db, tribe, "unblocked", by_id=by.id, detail=block.domain or block.actor_ap_id or ""
    )
    await record_audit(
        db, "tribe.unblock", by=by, target=tribe_target(tribe),
        details={"domain": block.domain, "person": block.actor_ap_id},
    )


async def list_blocks(db: AsyncSession, tribe: Tribe) -> list[TribeBlock]:
    """The tribe's blocks, newest first."""
    rows = await db.scalars(
        select(TribeBlock)
        .where(TribeBlock.tribe_id == tribe.id)
        .order_by(TribeBlock.created_at.desc(), TribeBlock.id.desc())
    )
    return list(rows.all())


# ------------------------------------------------------------------ held posts


async def list_held_posts(
    db: AsyncSession, tribe: Tribe, *, state: str = "pending", limit: int = 200
) -> list[HeldPost]:
    """Held posts of the tribe in ``state``, oldest first (first come, first served)."""
    rows = await db.scalars(
        select(HeldPost)
        .where(HeldPost.tribe_id == tribe.id, HeldPost.state == state)
        .order_by(HeldPost.created_at, HeldPost.id)
        .limit(limit)
    )
    return list(rows.unique().all())


async def decide_held_post(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, held_id: int, approve: bool
) -> HeldPost:
    """Approve (it becomes a tribe post, then announced) or reject a held post (admins,
    moderators)."""
    await require_role(db, tribe, by, "moderator")
    held = await db.get(HeldPost, held_id)
    if held is None or held.tribe_id != tribe.id:
        raise NotFound("This post does not exist (any more).")
    if held.state != "pending":
        raise Conflict("This post has been dealt with already.")
    held.state = "approved" if approve else "rejected"
    held.decided_at = utcnow()
    held.decided_by_id = by.id
    await db.flush()
    if approve:
        await _take_approved(db, settings, tribe, held)
    await record_audit(
        db, "tribe.held_post", by=by, target=tribe_target(tribe),
        details={"held_post": held.id, "decision": held.state, "object": held.object_ap_id},
    )
    await emit(db, settings, HeldPostDecided(actor=by, tribe=tribe, held=held))
    return held


async def _take_approved(
    db: AsyncSession, settings: Settings, tribe: Tribe, held: HeldPost
) -> None:
    """An approved held post becomes a tribe post (in the thread its parent is in)."""
    if not held.object_ap_id:
        return
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == held.object_ap_id))
    author = await db.get(Actor, held.actor_id)
    if obj is None or author is None or obj.deleted_at is not None:
        return
    root = None
    if obj.in_reply_to:
        posts = [
            p for p in await known_thread_posts(db, obj.in_reply_to) if p.tribe_id == tribe.id
        ]
        root = posts[0].root_ap_id if posts else None
    await take_post(db, settings, tribe, author, held.payload, obj, root=root, approved=True)


# ------------------------------------------------------------------ reports


async def file_report(
    db: AsyncSession,
    settings: Settings,
    reporter: Actor,
    *,
    target_ap_ids: Iterable[str],
    comment: str = "",
    tribe: Tribe | None = None,
    activity_id: str | None = None,
) -> Report:
    """File a report about actors or posts, for a tribe's moderators (or the instance).

    A ``Flag`` delivered twice (same ``activity_id``) is stored once.
    """
    if activity_id:
        existing = await db.scalar(select(Report).where(Report.activity_ap_id == activity_id))
        if existing is not None:
            return existing
    targets = [str(t) for t in target_ap_ids if isinstance(t, str) and t][:50]
    if not targets:
        raise ServiceError("A report needs something to report.", field="targets")
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise ServiceError(
            "Please keep it under %(max)s characters.", field="comment", max=MAX_COMMENT
        )
    report = Report(
        reporter_id=reporter.id, tribe_id=tribe.id if tribe else None, target_ap_ids=targets,
        comment=text, activity_ap_id=activity_id,
    )
    report.reporter = reporter
    db.add(report)
    await db.flush()
    await emit(db, settings, ReportFiled(actor=reporter, report=report, tribe=tribe))
    return report


async def list_reports(
    db: AsyncSession, tribe: Tribe, *, state: str = "open", limit: int = 200
) -> list[Report]:
    """The tribe's reports in ``state``, oldest first."""
    rows = await db.scalars(
        select(Report)
        .where(Report.tribe_id == tribe.id, Report.state == state)
        .order_by(Report.created_at, Report.id)
        .limit(limit)
    )
    return list(rows.unique().all())


async def resolve_report(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, report_id: int
) -> Report:
    """Mark a tribe report as dealt with (admins and moderators)."""
    await require_role(db, tribe, by, "moderator")
    report = await db.get(Report, report_id)
    if report is None or report.tribe_id != tribe.id:
        raise NotFound("This report does not exist.")
    report.state = "resolved"
    report.resolved_at = utcnow()
    report.resolved_by_id = by.id
    await db.flush()
    await record_audit(
        db, "tribe.report_resolve", by=by, target=tribe_target(tribe), reason=report.comment,
        details={"report": report.id, "targets": list(report.target_ap_ids)},
    )
    return report
