"""Notifications: what a person is involved in, with per-kind settings per channel.

Only local people get notifications (a remote person is told by their own server). Each
kind can be switched on or off per channel (``CHANNELS``): in the app, by e-mail at once,
and in the digest mail (daily or weekly, ``NotificationPreference``). A notification is
stored when any channel of its kind is on; ``email_pending`` marks it for the notification
mailer (``fedi.workers.notify_mail``), which mails it to a confirmed address. Services
call :func:`notify` directly or through the subscribers in ``fedi.domain.notify_*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, Notification, NotificationPreference, NotificationSetting, utcnow

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
    # Issue 12: tribes, the social side, tasks due, reports and moderation.
    "tribe_join_requested",
    "tribe_join_approved",
    "tribe_join_rejected",
    "tribe_invited",
    "tribe_member_joined",
    "follow",
    "follow_request",
    "reply",
    "like",
    "boost",
    "task_due",
    "report",
    "post_removed",
    "member_removed",
    "tribe_blocked",
    "role_changed",
)

# The ways a notification reaches a person; each is a boolean column of
# ``NotificationSetting`` with the same name. A new channel (Web Push) adds its name here,
# a column, and its defaults below.
CHANNELS: tuple[str, ...] = ("in_app", "email", "digest")

# How often the digest mail comes; ``off`` sends none (the digest page stays).
DIGEST_FREQUENCIES = ("off", "daily", "weekly")
DEFAULT_DIGEST_FREQUENCY = "daily"

# Kinds that ask for an answer or concern someone personally are mailed at once (and left
# out of the digest); the rest wait for the digest.
AT_ONCE = frozenset({
    "mention", "reply", "contribution_offered", "contribution_accepted",
    "contribution_rejected", "partner_requested", "meetup_reminder", "meetup_cancelled",
    "tribe_join_requested", "tribe_join_approved", "tribe_join_rejected", "tribe_invited",
    "task_due", "report", "post_removed", "member_removed", "tribe_blocked", "role_changed",
})
# Mailed at once and still listed in the digest (a reminder is worth seeing twice).
_ALSO_IN_DIGEST = frozenset({"meetup_reminder"})


def default_channels(kind: str) -> dict[str, bool]:
    """The channels of ``kind`` for someone who never changed them."""
    at_once = kind in AT_ONCE
    return {
        "in_app": True,
        "email": at_once,
        "digest": not at_once or kind in _ALSO_IN_DIGEST,
    }


@dataclass(frozen=True)
class KindSetting:
    """The effective setting of one kind for one person: which channels are on."""

    kind: str
    channels: dict[str, bool]

    @property
    def in_app(self) -> bool:
        """Shown in the app."""
        return self.channels.get("in_app", False)

    @property
    def email(self) -> bool:
        """Mailed at once."""
        return self.channels.get("email", False)

    @property
    def digest(self) -> bool:
        """Listed in the digest (page and mail)."""
        return self.channels.get("digest", False)

    def any_on(self) -> bool:
        """Whether any channel is on (otherwise nothing is stored)."""
        return any(self.channels.values())


def _setting_from(kind: str, row: object | None) -> KindSetting:
    """``kind``'s channels: the defaults, overridden by the boolean channel attributes of
    ``row`` (a ``NotificationSetting``, or a result row of its channel columns; NULL and
    missing ones keep the default)."""
    channels = default_channels(kind)
    if row is not None:
        for channel in CHANNELS:
            value = getattr(row, channel, None)
            if isinstance(value, bool):
                channels[channel] = value
    return KindSetting(kind, channels)


async def settings_of(db: AsyncSession, person: Actor) -> dict[str, KindSetting]:
    """Every kind's setting for ``person`` (``default_channels`` where never changed)."""
    rows = {
        row.kind: row
        for row in await db.scalars(
            select(NotificationSetting).where(NotificationSetting.actor_id == person.id)
        )
    }
    return {kind: _setting_from(kind, rows.get(kind)) for kind in KINDS}


async def set_setting(
    db: AsyncSession,
    person: Actor,
    kind: str,
    *,
    in_app: bool | None = None,
    digest: bool | None = None,
    email: bool | None = None,
    **channels: bool,
) -> KindSetting:
    """Change channels of one kind for ``person``; channels not given keep their value.

    Unknown kinds are ignored (their defaults are returned). ``channels`` takes the names of
    channels added later (``push=True``) when ``NotificationSetting`` has such a column.
    """
    if kind not in KINDS:
        return KindSetting(kind, default_channels(kind))
    row = await db.scalar(
        select(NotificationSetting).where(
            NotificationSetting.actor_id == person.id, NotificationSetting.kind == kind
        )
    )
    current = _setting_from(kind, row).channels
    if row is None:
        row = NotificationSetting(actor_id=person.id, kind=kind)
        db.add(row)
    wanted = dict(channels)
    for name, value in (("in_app", in_app), ("digest", digest), ("email", email)):
        if value is not None:
            wanted[name] = value
    for channel in CHANNELS:
        if hasattr(NotificationSetting, channel):
            setattr(row, channel, wanted.get(channel, current.get(channel, False)))
    await db.flush()
    return _setting_from(kind, row)


async def digest_frequency(db: AsyncSession, person: Actor) -> str:
    """How often ``person`` gets the digest mail: ``off``, ``daily`` or ``weekly``."""
    row = await db.get(NotificationPreference, person.id)
    return row.digest_frequency if row is not None else DEFAULT_DIGEST_FREQUENCY


async def set_digest_frequency(db: AsyncSession, person: Actor, frequency: str) -> str:
    """Set how often the digest mail comes (an unknown value is refused with ValueError)."""
    if frequency not in DIGEST_FREQUENCIES:
        raise ValueError(f"unknown digest frequency {frequency!r}")
    row = await db.get(NotificationPreference, person.id)
    current = row.digest_frequency if row is not None else DEFAULT_DIGEST_FREQUENCY
    if row is None:
        row = NotificationPreference(actor_id=person.id)
        db.add(row)
    if current != frequency and frequency != "off":
        # A new rhythm starts from now: the previous period's events are not mailed again.
        row.digest_sent_until = utcnow()
    row.digest_frequency = frequency
    await db.flush()
    return frequency


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

    A recipient who switched every channel of the kind off gets nothing; one with e-mail on
    gets the row marked ``email_pending`` for the notification mailer. Recipients are
    de-duplicated.
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
        if setting is not None and not setting.any_on():
            continue
        note = Notification(
            recipient_id=person.id, kind=kind, actor_id=by.id if by else None,
            initiative_id=initiative_id, payload=dict(payload or {}),
            email_pending=bool(setting is not None and setting.email),
        )
        db.add(note)
        made.append(note)
    if made:
        await db.flush()
    return made


# How many of the latest notifications of one kind by one person :func:`notify_once` looks
# through for the same subject.
RECENT_LOOKED_AT = 50


def _setting_and_recent() -> tuple[Select[Any], list[str]]:
    """One statement for :func:`notify_once`, and the channels it reads.

    The recipient's setting of the kind (its channel columns, NULL without a row) beside
    the payloads of the latest notifications of that kind by that person (one row each,
    or one row of NULL when there are none). Built once, at import; the anchor row makes
    both outer joins answer even when both are empty.
    """
    channels = [name for name in CHANNELS if hasattr(NotificationSetting, name)]
    setting = (
        select(*(getattr(NotificationSetting, name) for name in channels))
        .where(
            NotificationSetting.actor_id == bindparam("person"),
            NotificationSetting.kind == bindparam("kind"),
        )
        .subquery()
    )
    recent = (
        select(Notification.payload)
        .where(
            Notification.recipient_id == bindparam("person"),
            Notification.kind == bindparam("kind"),
            Notification.actor_id == bindparam("by"),
        )
        .order_by(Notification.id.desc())
        .limit(RECENT_LOOKED_AT)
        .subquery()
    )
    anchor = select(literal(1).label("one")).subquery()
    return select(*(setting.c[name] for name in channels), recent.c.payload).select_from(
        anchor.outerjoin(setting, true()).outerjoin(recent, true())
    ), channels


_SETTING_AND_RECENT, _SETTING_CHANNELS = _setting_and_recent()


async def notify_once(
    db: AsyncSession,
    person: Actor,
    kind: str,
    *,
    by: Actor,
    about: str,
    payload: dict[str, Any],
) -> Notification | None:
    """:func:`notify` one person that ``by`` did ``kind`` about ``about``, unless they were
    told so already (among the latest ``RECENT_LOOKED_AT`` such notifications).

    For redelivered activities (Mastodon re-sends a Follow it thinks was lost): one
    statement reads both the recipient's setting of the kind and whether they were told,
    where :func:`settings_of` and a separate look at the notifications took two.
    ``about`` is stored in the payload as ``about``.
    """
    if not person.local or person.type != "Person" or person.id == by.id:
        return None
    rows = (
        await db.execute(
            _SETTING_AND_RECENT, {"person": person.id, "kind": kind, "by": by.id}
        )
    ).all()
    width = len(_SETTING_CHANNELS)
    if any(isinstance(row[width], dict) and row[width].get("about") == about for row in rows):
        return None
    setting: KindSetting | None = None
    if kind in KINDS:
        setting = _setting_from(kind, rows[0])
        if not setting.any_on():
            return None
    note = Notification(
        recipient_id=person.id, kind=kind, actor_id=by.id, initiative_id=None,
        payload={**payload, "about": about},
        email_pending=bool(setting is not None and setting.email),
    )
    db.add(note)
    await db.flush()
    return note


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


def unread_count_of(person_id: Any) -> Any:
    """``unread_count`` as a SQL expression for the person ``person_id`` (a column or a
    bound value): the web session lookup reads it in the same statement as the person."""
    return (
        select(func.count(Notification.id))
        .where(
            Notification.recipient_id == person_id,
            Notification.read_at.is_(None),
            Notification.kind.in_(KINDS),
            ~select(NotificationSetting.id)
            .where(
                NotificationSetting.actor_id == person_id,
                NotificationSetting.kind == Notification.kind,
                NotificationSetting.in_app.is_(False),
            )
            .exists(),
        )
        .scalar_subquery()
    )


# Built once: every page a logged-in person sees asks it.
_UNREAD = select(unread_count_of(bindparam("person")))


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
