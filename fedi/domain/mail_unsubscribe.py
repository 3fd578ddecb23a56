"""One-click unsubscribe from mails of one kind (RFC 8058), per person and kind.

Mails about notifications carry ``List-Unsubscribe: <link>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; a mail program POSTs to the link and
that kind is no longer mailed to the person (``NotificationSetting.email``; the in-app and
digest choices stay as they are). The link is signed with the instance's secret key over
the account and the kind, so it needs no table and cannot be forged for someone else.
Mails an account cannot do without (reset links, address confirmation) have no such link.
The digest mail's link (kind ``DIGEST``) switches the digest mail off.
"""

from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import NotFound
from fedi.domain.mail import MailBody, queue_mail, sign
from fedi.domain.notifications import KINDS, default_channels, set_digest_frequency
from fedi.settings import Settings
from models import NotificationSetting, OutgoingMail, User

__all__ = [
    "DIGEST",
    "mail_wanted",
    "queue_unsubscribable_mail",
    "resolve_unsubscribe",
    "unsubscribe",
    "unsubscribe_url",
]


# The pseudo-kind of the digest mail: its unsubscribe link sets the frequency to "off".
DIGEST = "digest"


def _token(settings: Settings, user_id: int, kind: str) -> str:
    return f"{user_id}.{kind}.{sign(settings, f'unsubscribe:{user_id}:{kind}')}"


def unsubscribe_url(settings: Settings, user: User, kind: str) -> str:
    """The signed one-click link that stops mails of ``kind`` to ``user``."""
    return settings.url(f"/unsubscribe/{_token(settings, user.id, kind)}")


async def resolve_unsubscribe(
    db: AsyncSession, settings: Settings, token: str
) -> tuple[User, str]:
    """The account and kind a link is for; ``NotFound`` when it is not a valid link."""
    invalid = NotFound("This unsubscribe link is not valid.")
    user_part, _sep, rest = token.partition(".")
    kind, _sep, signature = rest.partition(".")
    if not user_part.isdigit() or kind not in (*KINDS, DIGEST) or len(token) > 200:
        raise invalid
    if not hmac.compare_digest(sign(settings, f"unsubscribe:{user_part}:{kind}"), signature):
        raise invalid
    user = await db.get(User, int(user_part))
    if user is None:
        raise invalid
    return user, kind


async def _setting(db: AsyncSession, user: User, kind: str) -> NotificationSetting | None:
    return await db.scalar(
        select(NotificationSetting).where(
            NotificationSetting.actor_id == user.actor_id, NotificationSetting.kind == kind
        )
    )


async def mail_wanted(db: AsyncSession, user: User, kind: str) -> bool:
    """Whether mails of ``kind`` may go to ``user`` (yes unless they unsubscribed)."""
    row = await _setting(db, user, kind)
    return row is None or row.email


async def unsubscribe(db: AsyncSession, settings: Settings, token: str) -> tuple[User, str]:
    """Stop mails of the link's kind to the link's account (idempotent)."""
    user, kind = await resolve_unsubscribe(db, settings, token)
    if kind == DIGEST:
        await set_digest_frequency(db, user.actor, "off")
        return user, kind
    row = await _setting(db, user, kind)
    if row is None:
        # The other channels keep what they were (the kind's defaults).
        defaults = default_channels(kind)
        row = NotificationSetting(
            actor_id=user.actor_id, kind=kind, in_app=defaults["in_app"],
            digest=defaults["digest"],
        )
        db.add(row)
    row.email = False
    await db.flush()
    return user, kind


async def queue_unsubscribable_mail(
    db: AsyncSession, settings: Settings, user: User, kind: str, body: MailBody
) -> OutgoingMail | None:
    """Queue a mail of a notification ``kind`` with its one-click unsubscribe headers.

    Nothing is queued (None) when the person switched mails of this kind off.
    """
    if not await mail_wanted(db, user, kind):
        return None
    return await queue_mail(
        db, settings, user.email, kind, body.subject, body.text, body.html,
        unsubscribe_url=unsubscribe_url(settings, user, kind), user_id=user.id,
    )
