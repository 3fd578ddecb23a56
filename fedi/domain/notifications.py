"""In-app notifications: what a person is involved in, with per-kind settings and a digest.

Only local people get notifications (a remote person is told by their own server). Each
kind can be switched off in the app and in the daily digest separately; a notification is
stored when either is on. There is no e-mail: the digest is a page grouped by day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, Notification, NotificationSetting, utcnow

# Every kind, in the order the settings page lists them.
KINDS = (
    "mention",
    "message",
    "comment",
    "contribution_offered",
    "contribution_accepted",
    "contribution_rejected",
    "contribution_withdrawn",
    "partner_requested",
    "partner_joined",
    "supporter_joined",
    "task_added",
    "task_completed",
    "rated",
    "initiative_changed",
    # Meetups (issue 15): the day-before reminder, and a cancelled event one takes part in.
    "meetup_reminder",
    "meetup_cancelled",
)


@dataclass(frozen=True)
class KindSetting:
    """The effective setting of one kind for one person."""

    kind: str
    in_app: bool
    digest: bool


async def settings_of(db: AsyncSession, person: Actor) -> dict[str, KindSetting]:
    """Every kind's setting for ``person`` (defaults: on in the app and in the digest)."""
    rows = {
        row.kind: row
        for row in await db.scalars(
            select(NotificationSetting).where(NotificationSetting.actor_id == person.id)
        )
    }
    out: dict[str, KindSetting] = {}
    for kind in KINDS:
        row = rows.get(kind)
        out[kind] = KindSetting(
            kind, row.in_app if row else True, row.digest if row else True
        )
    return out


async def set_setting(
    db: AsyncSession, person: Actor, kind: str, *, in_app: bool, digest: bool
) -> KindSetting:
    """Change one kind's setting for ``person`` (unknown kinds are ignored)."""
    if kind not in KINDS:
        return KindSetting(kind, True, True)
    row = await db.scalar(
        select(NotificationSetting).where(
            NotificationSetting.actor_id == person.id, NotificationSetting.kind == kind
        )
    )
    if row is None:
        row = NotificationSetting(actor_id=person.id, kind=kind)
        db.add(row)
    row.in_app = in_app
    row.digest = digest
    await db.flush()
    return KindSetting(kind, in_app, digest)


async def notify(
    db: AsyncSession,
    recipients: Iterable[Actor],
    kind: str,
    *,
    by: Actor | None = None,
    initiative_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> list[Notification]:
    """Store a notification for each *local* recipient, except ``by`` (who caused it).

    A recipient who switched the kind off both in the app and in the digest gets nothing.
    Recipients are de-duplicated.
    """
    seen: set[int] = set()
    made: list[Notification] = []
    for person in recipients:
        if not person.local or person.type != "Person" or person.id in seen:
            continue
        seen.add(person.id)
        if by is not None and person.id == by.id:
            continue
        setting = (await settings_of(db, person))[kind] if kind in KINDS else None
        if setting is not None and not setting.in_app and not setting.digest:
            continue
        note = Notification(
            recipient_id=person.id, kind=kind, actor_id=by.id if by else None,
            initiative_id=initiative_id, payload=dict(payload or {}),
        )
        db.add(note)
        made.append(note)
    if made:
        await db.flush()
    return made


def _in_app_kinds(settings: dict[str, KindSetting]) -> list[str]:
    return [kind for kind, value in settings.items() if value.in_app]


async def list_notifications(
    db: AsyncSession, person: Actor, *, limit: int = 50, offset: int = 0
) -> list[Notification]:
    """The person's notifications of kinds shown in the app, newest first."""
    kinds = _in_app_kinds(await settings_of(db, person))
    rows = await db.scalars(
        select(Notification)
        .where(Notification.recipient_id == person.id, Notification.kind.in_(kinds))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.unique().all())


async def unread_count(db: AsyncSession, person: Actor) -> int:
    """How many unread notifications the app shows.

    One statement (every page header asks): kinds the person switched off in the app are
    left out by a ``NOT EXISTS`` on their settings instead of reading the settings first.
    """
    count = await db.scalar(_UNREAD, {"person": person.id})
    return int(count or 0)


# Built once: every page a logged-in person sees asks it.
_UNREAD = select(func.count(Notification.id)).where(
    Notification.recipient_id == bindparam("person"),
    Notification.read_at.is_(None),
    Notification.kind.in_(KINDS),
    ~select(NotificationSetting.id)
    .where(
        NotificationSetting.actor_id == bindparam("person"),
        NotificationSetting.kind == Notification.kind,
        NotificationSetting.in_app.is_(False),
    )
    .exists(),
)


async def mark_all_read(db: AsyncSession, person: Actor) -> None:
    """Mark every notification of ``person`` as read."""
    await db.execute(
        update(Notification)
        .where(Notification.recipient_id == person.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


async def digest(
    db: AsyncSession, person: Actor, *, days: int = 7, now: datetime | None = None
) -> list[tuple[date, list[Notification]]]:
    """The daily digest: notifications of digest kinds of the last ``days``, per day (newest)."""
    kinds = [kind for kind, value in (await settings_of(db, person)).items() if value.digest]
    since = (now or utcnow()) - timedelta(days=days)
    rows = await db.scalars(
        select(Notification)
        .where(
            Notification.recipient_id == person.id,
            Notification.kind.in_(kinds),
            Notification.created_at >= since,
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    groups: dict[date, list[Notification]] = {}
    for note in rows.unique().all():
        groups.setdefault(note.created_at.date(), []).append(note)
    return list(groups.items())
