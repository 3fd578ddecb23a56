"""The account's own mails: "forgot password" reset links and e-mail address confirmation.

Both only queue a mail (``fedi.domain.mail``); the mail worker sends it. A reset request
never tells whether an account exists: unknown names, pending or disabled accounts and
accounts over their hourly limit all end silently, and the page answers the same.
Confirmation links are signed (HMAC with the instance's secret key) over the account and
its current address, so they need no table and stop working when the address changes.
"""

from __future__ import annotations

import hmac
import time

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import ratelimit
from fedi.domain.accounts import create_reset_link
from fedi.domain.errors import NotFound
from fedi.domain.mail import mail_locale, mail_translator, queue_mail, render_mail, sign
from fedi.domain.users import find_user, find_user_by_email
from fedi.settings import Settings
from models import User, utcnow

__all__ = [
    "CONFIRM_LIFETIME_SECONDS",
    "confirm_email",
    "confirmation_token",
    "request_password_reset",
    "send_email_confirmation",
]

CONFIRM_LIFETIME_SECONDS = 7 * 24 * 3600


async def _find_by_login(db: AsyncSession, login: str) -> User | None:
    """The account a "forgot password" form names, by name or e-mail address."""
    login = login.strip()
    if not login:
        return None
    if "@" in login.lstrip("@"):
        user = await find_user_by_email(db, login)
        if user is not None:
            return user
        # "@alice@host" or "alice@host": a handle; the name part is enough to find it.
        name, _sep, _host = login.lstrip("@").partition("@")
        return await find_user(db, name)
    return await find_user(db, login)


async def request_password_reset(db: AsyncSession, settings: Settings, login: str) -> bool:
    """Mail a one-time reset link to the account ``login`` names, if that may happen.

    Returns whether a mail was queued (for tests and logs only: callers must answer the
    same either way, or the form would tell who has an account).
    """
    user = await _find_by_login(db, login)
    if user is None or user.disabled or not user.approved:
        return False
    try:
        await ratelimit.take(db, ratelimit.RESET_MAIL_PER_ACCOUNT, str(user.id))
    except ratelimit.LimitReached:
        return False
    link = await create_reset_link(db, settings, user.actor.username, self_service=True)
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    body = render_mail(
        settings,
        locale=locale,
        subject=_("Set a new password for %(instance)s", instance=settings.instance_name),
        paragraphs=[
            _("Hello %(name)s,", name=user.actor.name or user.actor.username),
            _("Somebody (hopefully you) asked for a new password for your account "
              "%(account)s. With the button below you choose a new one; the link works "
              "once and for 24 hours.", account="@" + user.actor.username),
            _("Did you not ask for this? Then you can ignore this mail: your password "
              "stays the same."),
        ],
        action_url=link,
        action_label=_("Choose a new password"),
    )
    await queue_mail(db, settings, user.email, "password_reset", body.subject, body.text,
                     body.html, user_id=user.id)
    return True


def confirmation_token(settings: Settings, user: User, *, now: float | None = None) -> str:
    """A signed token that confirms ``user``'s current address for a week."""
    expires = int((time.time() if now is None else now) + CONFIRM_LIFETIME_SECONDS)
    signature = sign(settings, f"confirm:{user.id}:{user.email.lower()}:{expires}")
    return f"{user.id}.{expires}.{signature}"


async def send_email_confirmation(db: AsyncSession, settings: Settings, user: User) -> None:
    """Queue the mail with the link that confirms ``user``'s e-mail address."""
    link = settings.url(f"/confirm-email/{confirmation_token(settings, user)}")
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    body = render_mail(
        settings,
        locale=locale,
        subject=_("Confirm your e-mail address for %(instance)s",
                  instance=settings.instance_name),
        paragraphs=[
            _("Hello %(name)s,", name=user.actor.name or user.actor.username),
            _("Please confirm that this is your e-mail address, so that you can get a new "
              "password by mail when you forget yours. The link works for a week."),
            _("Did you not make an account? Then you can ignore this mail."),
        ],
        action_url=link,
        action_label=_("Confirm my e-mail address"),
    )
    await queue_mail(db, settings, user.email, "email_confirm", body.subject, body.text,
                     body.html, user_id=user.id)


async def confirm_email(db: AsyncSession, settings: Settings, token: str) -> User:
    """Mark the address of the account in ``token`` as confirmed; ``NotFound`` if invalid."""
    invalid = NotFound("This confirmation link is not valid (any more).")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 200:
        raise invalid
    user = await db.get(User, int(parts[0]))
    if user is None or int(parts[1]) < time.time():
        raise invalid
    expected = sign(settings, f"confirm:{user.id}:{user.email.lower()}:{parts[1]}")
    if not hmac.compare_digest(expected, parts[2]):
        raise invalid
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        await db.flush()
    return user
