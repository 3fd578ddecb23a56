"""The mail that tells a person an admin suspended their account, or lifted the suspension.

A moderation decision about you is one of the things a person must hear of (issue 12), and
a suspended person can no longer log in to read a notification, so this goes by e-mail, in
the person's language, whether or not they confirmed the address (as a password reset
does: the address is the account's own). The reason the admin gave is quoted, as Mastodon's
"account warning" mail does. There is no unsubscribe: it is not a notification one can
switch off.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.mail import mail_locale, mail_translator, queue_mail, render_mail
from fedi.settings import Settings
from models import Actor, User

__all__ = ["mail_suspension", "mail_suspension_lifted"]


async def mail_suspension(
    db: AsyncSession, settings: Settings, user: User, person: Actor, reason: str
) -> None:
    """Queue the mail that says ``user``'s account is suspended (and why, when told)."""
    if not user.email:
        return
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    paragraphs = [
        _("Hello %(name)s,", name=person.name or person.username),
        _("An administrator of %(instance)s has suspended your account %(account)s. You "
          "cannot log in while the suspension lasts, and what you posted is hidden; nothing "
          "has been deleted.", instance=settings.instance_name, account="@" + person.username),
    ]
    if reason.strip():
        paragraphs.append(_("The reason given: %(reason)s", reason=reason.strip()))
    paragraphs.append(_("Do you think this is a mistake? Reply to the administrators of "
                        "%(instance)s.", instance=settings.instance_name))
    body = render_mail(
        settings, locale=locale, paragraphs=paragraphs,
        subject=_("Your account on %(instance)s is suspended", instance=settings.instance_name),
    )
    await queue_mail(db, settings, user.email, "account_suspended", body.subject, body.text,
                     body.html, user_id=user.id)


async def mail_suspension_lifted(
    db: AsyncSession, settings: Settings, user: User, person: Actor
) -> None:
    """Queue the mail that says the suspension of ``user``'s account was lifted."""
    if not user.email:
        return
    locale = mail_locale(settings, user)
    _ = mail_translator(settings, locale)
    body = render_mail(
        settings, locale=locale,
        subject=_("Your account on %(instance)s works again", instance=settings.instance_name),
        paragraphs=[
            _("Hello %(name)s,", name=person.name or person.username),
            _("The suspension of your account %(account)s has been lifted: you can log in "
              "again, and what you posted is shown again.", account="@" + person.username),
        ],
        action_url=settings.url("/login"),
        action_label=_("Log in"),
    )
    await queue_mail(db, settings, user.email, "account_unsuspended", body.subject, body.text,
                     body.html, user_id=user.id)
