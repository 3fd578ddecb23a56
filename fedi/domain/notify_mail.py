"""E-mail at once: notifications marked ``email_pending`` become mails in the queue.

:func:`fedi.domain.notifications.notify` only marks a notification (it has no settings to
render a mail with, and a request should not wait for rendering). The notification mailer
(``fedi.workers.notify_mail``) calls :func:`queue_pending_mails` every second: each
marked row is claimed by clearing the mark (an ``UPDATE ... WHERE email_pending`` that
only one worker process wins), and for a person with a confirmed address who did not
unsubscribe from the kind, a mail in their language is queued in the same transaction,
with its one-click ``List-Unsubscribe`` link for that kind.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.mail import MailBody, mail_locale, mail_translator, render_mail
from fedi.domain.mail_unsubscribe import queue_unsubscribable_mail, unsubscribe_url
from fedi.domain.notify_texts import link_path, sentence
from fedi.settings import Settings
from models import Notification, User

__all__ = ["BATCH", "mail_recipient", "queue_pending_mails", "render_notification_mail"]

BATCH = 50


def absolute(settings: Settings, path: str | None) -> str:
    """``path`` as a full URL of this instance (remote URLs stay as they are)."""
    if not path:
        return settings.url("/notifications")
    if path.startswith(("https://", "http://")):
        return path
    return settings.url(path)


def render_notification_mail(settings: Settings, note: Notification, user: User) -> MailBody:
    """The mail telling ``user`` about ``note``, in their language."""
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    text = sentence(note, _)
    data = note.payload or {}
    paragraphs = [_("Hello %(name)s,", name=user.actor.name or user.actor.username), text]
    for key in ("excerpt", "comment"):
        extra = data.get(key)
        if isinstance(extra, str) and extra.strip() and extra not in text:
            paragraphs.append(f"“{extra.strip()}”")
    return render_mail(
        settings,
        locale=locale,
        subject=text,
        paragraphs=paragraphs,
        action_url=absolute(settings, link_path(note)),
        action_label=_("Open"),
        footer=[
            _("You get this mail because of your notification settings: %(url)s",
              url=settings.url("/notifications/settings")),
            _("Stop mails of this kind: %(url)s",
              url=unsubscribe_url(settings, user, note.kind)),
        ],
    )


async def mail_recipient(db: AsyncSession, actor_id: int) -> User | None:
    """The account of ``actor_id`` if it may get mail: active, with a confirmed address."""
    user = await db.scalar(select(User).where(User.actor_id == actor_id))
    if user is None or user.disabled or not user.approved or user.email_confirmed_at is None:
        return None
    if not user.email or user.actor.gone_at is not None:
        return None
    return user


async def queue_pending_mails(
    db: AsyncSession, settings: Settings, *, limit: int = BATCH
) -> int:
    """Turn up to ``limit`` marked notifications into queued mails; how many were handled."""
    ids = list(
        await db.scalars(
            select(Notification.id)
            .where(Notification.email_pending.is_(True))
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    handled = 0
    for note_id in ids:
        result = await db.execute(
            update(Notification)
            .where(Notification.id == note_id, Notification.email_pending.is_(True))
            .values(email_pending=False)
            .execution_options(synchronize_session=False)
        )
        if not isinstance(result, CursorResult) or result.rowcount != 1:
            continue  # another worker process took it
        handled += 1
        note = await db.get(Notification, note_id)
        if note is None:
            continue
        user = await mail_recipient(db, note.recipient_id)
        if user is None:
            continue
        body = render_notification_mail(settings, note, user)
        await queue_unsubscribable_mail(db, settings, user, note.kind, body)
    return handled
