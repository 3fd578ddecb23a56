"""The digest mail: once a day or once a week, what happened in the period, in one mail.

Periods end at midnight UTC (daily) or on Monday at midnight UTC (weekly). For each person
with a confirmed address and a frequency other than ``off``, :func:`send_digest` first
moves ``NotificationPreference.digest_sent_until`` to the end of the last finished period
(an ``UPDATE ... WHERE digest_sent_until < end`` that only one worker process wins), then
collects the unread notifications of the kinds the person wants in the digest created since
the previous period's end, and queues one mail, all in one transaction. A period is thus
mailed once, and a restarted worker continues where it left off. A period without news
sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.mail import MailBody, mail_locale, mail_translator
from fedi.domain.mail_unsubscribe import DIGEST, queue_unsubscribable_mail, unsubscribe_url
from fedi.domain.notifications import DEFAULT_DIGEST_FREQUENCY, settings_of
from fedi.domain.notify_mail import absolute, mail_recipient
from fedi.domain.notify_texts import link_path, sentence
from fedi.settings import Settings
from models import Actor, Notification, NotificationPreference, OutgoingMail, User

__all__ = ["PERIODS", "digest_candidates", "period_end", "render_digest", "send_digest"]

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# After a long outage, a digest reaches back this far at most.
MAX_REACH = timedelta(days=7)
MAX_ITEMS = 200

_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parents[2] / "templates" / "mail")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest: the sentence and where it leads."""

    text: str
    url: str


def period_end(now: datetime, frequency: str) -> datetime:
    """The end of the last finished period at ``now`` (midnight UTC; weekly: Monday)."""
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    if frequency == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    return midnight


async def digest_candidates(db: AsyncSession, now: datetime) -> list[int]:
    """Actor ids of the people whose digest is due at ``now``.

    Confirmed, active accounts whose frequency is not ``off`` and whose last mailed period
    ended before the last finished one (so a sweep every few minutes reads only them).
    """
    frequency = func.coalesce(NotificationPreference.digest_frequency, DEFAULT_DIGEST_FREQUENCY)
    sent_until = NotificationPreference.digest_sent_until
    due = or_(*(
        and_(frequency == name, or_(sent_until.is_(None), sent_until < period_end(now, name)))
        for name in PERIODS
    ))
    rows = await db.scalars(
        select(User.actor_id)
        .join(Actor, Actor.id == User.actor_id)
        .outerjoin(NotificationPreference, NotificationPreference.actor_id == User.actor_id)
        .where(
            User.disabled.is_(False), User.approved.is_(True),
            User.email_confirmed_at.is_not(None), Actor.gone_at.is_(None), due,
        )
        .order_by(User.actor_id)
    )
    return list(rows)


async def _claim(
    db: AsyncSession, actor_id: int, end: datetime
) -> tuple[bool, datetime | None, str]:
    """Move the person's digest to ``end``: (won, previous end, frequency)."""
    pref = await db.get(NotificationPreference, actor_id)
    if pref is None:
        pref = NotificationPreference(actor_id=actor_id, digest_frequency=DEFAULT_DIGEST_FREQUENCY,
                                      digest_sent_until=end)
        db.add(pref)
        await db.flush()  # a second process inserting too fails on the primary key
        return True, None, pref.digest_frequency
    previous = pref.digest_sent_until
    result = await db.execute(
        update(NotificationPreference)
        .where(
            NotificationPreference.actor_id == actor_id,
            or_(
                NotificationPreference.digest_sent_until.is_(None),
                NotificationPreference.digest_sent_until < end,
            ),
        )
        .values(digest_sent_until=end)
        .execution_options(synchronize_session=False)
    )
    won = isinstance(result, CursorResult) and result.rowcount == 1
    return won, previous, pref.digest_frequency


async def send_digest(
    db: AsyncSession, settings: Settings, actor_id: int, now: datetime
) -> OutgoingMail | None:
    """Queue the digest of the last finished period for ``actor_id`` if it is due."""
    pref = await db.get(NotificationPreference, actor_id)
    frequency = pref.digest_frequency if pref is not None else DEFAULT_DIGEST_FREQUENCY
    if frequency not in PERIODS:
        return None
    end = period_end(now, frequency)
    if pref is not None and pref.digest_sent_until is not None and pref.digest_sent_until >= end:
        return None
    user = await mail_recipient(db, actor_id)
    if user is None:
        return None
    won, previous, _frequency = await _claim(db, actor_id, end)
    if not won:
        return None
    since = previous if previous is not None else end - PERIODS[frequency]
    since = max(since, end - MAX_REACH)
    wanted = [k for k, value in (await settings_of(db, user.actor)).items() if value.digest]
    notes = list(
        (await db.scalars(
            select(Notification)
            .where(
                Notification.recipient_id == actor_id,
                Notification.kind.in_(wanted),
                Notification.read_at.is_(None),
                Notification.created_at >= since,
                Notification.created_at < end,
            )
            .order_by(Notification.created_at, Notification.id)
            .limit(MAX_ITEMS)
        )).unique().all()
    )
    if not notes:
        return None
    body = render_digest(settings, user, notes, frequency)
    return await queue_unsubscribable_mail(db, settings, user, DIGEST, body)


def render_digest(
    settings: Settings, user: User, notes: list[Notification], frequency: str
) -> MailBody:
    """Both bodies of a digest mail, grouped by day, in the person's language."""
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    groups: dict[str, list[DigestItem]] = {}
    for note in notes:
        day = note.created_at.date().isoformat()
        groups.setdefault(day, []).append(
            DigestItem(sentence(note, _), absolute(settings, link_path(note)))
        )
    subject = (
        _("Your daily digest from %(instance)s", instance=settings.instance_name)
        if frequency == "daily"
        else _("Your weekly digest from %(instance)s", instance=settings.instance_name)
    )
    context = {
        "instance_name": settings.instance_name,
        "instance_url": settings.base_url,
        "subject": subject,
        "locale": locale,
        "greeting": _("Hello %(name)s,", name=user.actor.name or user.actor.username),
        "intro": _("%(count)s things happened that concern you:", count=len(notes)),
        "groups": list(groups.items()),
        "all_label": _("All your notifications"),
        "all_url": settings.url("/notifications"),
        "footer": [
            _("Change what the digest holds and how often it comes: %(url)s",
              url=settings.url("/notifications/settings")),
            _("Stop the digest mail: %(url)s", url=unsubscribe_url(settings, user, DIGEST)),
        ],
    }
    return MailBody(
        subject=subject,
        text=_ENV.get_template("digest.txt").render(context),
        html=_ENV.get_template("digest.html").render(context),
    )
