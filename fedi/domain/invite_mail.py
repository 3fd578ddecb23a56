"""Invitations by e-mail: to a tribe (with its invitation link) and to an initiative.

An invitation goes to an address that may have no account here yet, so the mail is in the
language of the account with that address if there is one, else in the instance's. It has
no unsubscribe link: it is one mail asked for by a person, not a notification kind (an
account holder's in-app ``tribe_invited`` notification follows the usual settings).
Initiative invitations are limited per inviter (``MAX_PER_REQUEST`` at once,
``INITIATIVE_INVITES_PER_ACCOUNT`` mails an hour), so the form cannot be used to spam.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import ratelimit
from fedi.domain.accounts import validate_email
from fedi.domain.errors import ServiceError
from fedi.domain.initiative_access import require_edit
from fedi.domain.mail import mail_locale, mail_translator, queue_mail, render_mail
from fedi.domain.users import find_user_by_email
from fedi.settings import Settings
from models import Actor, Initiative, OutgoingMail, Tribe

__all__ = [
    "INITIATIVE_INVITES_PER_ACCOUNT",
    "MAX_PER_REQUEST",
    "invite_to_initiative",
    "queue_initiative_invite_mail",
    "queue_tribe_invite_mail",
]

MAX_PER_REQUEST = 20
INITIATIVE_INVITES_PER_ACCOUNT = ratelimit.Limit("initiative-invite-mail", 50, timedelta(hours=1))


async def _locale_for(db: AsyncSession, settings: Settings, address: str) -> str:
    return mail_locale(settings, await find_user_by_email(db, address))


async def queue_tribe_invite_mail(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, address: str, link: str
) -> OutgoingMail:
    """Mail ``address`` the invitation ``link`` to ``tribe`` from ``by``."""
    locale = await _locale_for(db, settings, address)
    _ = mail_translator(settings, locale)
    inviter = by.name or by.handle
    body = render_mail(
        settings,
        locale=locale,
        subject=_("%(name)s invites you to %(tribe)s", name=inviter, tribe=tribe.name),
        paragraphs=[
            _("Hello,"),
            _("%(name)s invites you to join the tribe %(tribe)s on %(instance)s.",
              name=inviter, tribe=tribe.name, instance=settings.instance_name),
            _("With the button below you join; without an account you first make one. "
              "Logging in or registering with this address works too."),
        ],
        action_url=link,
        action_label=_("Join %(tribe)s", tribe=tribe.name),
        footer=[_("Not interested? Then you can ignore this mail.")],
    )
    return await queue_mail(db, settings, address, "tribe_invite", body.subject, body.text,
                            body.html)


async def queue_initiative_invite_mail(
    db: AsyncSession, settings: Settings, initiative: Initiative, by: Actor, address: str
) -> OutgoingMail:
    """Mail ``address`` an invitation to look at and take part in ``initiative``."""
    locale = await _locale_for(db, settings, address)
    _ = mail_translator(settings, locale)
    inviter = by.name or by.handle
    body = render_mail(
        settings,
        locale=locale,
        subject=_("%(name)s invites you to take part in %(title)s", name=inviter,
                  title=initiative.name),
        paragraphs=[
            _("Hello,"),
            _("%(name)s invites you to take part in the initiative %(title)s on "
              "%(instance)s: support it, offer help with a task or become a partner.",
              name=inviter, title=initiative.name, instance=settings.instance_name),
        ],
        action_url=settings.url(f"/initiatives/{initiative.id}"),
        action_label=_("See the initiative"),
        footer=[_("Not interested? Then you can ignore this mail.")],
    )
    return await queue_mail(db, settings, address, "initiative_invite", body.subject,
                            body.text, body.html)


async def invite_to_initiative(
    db: AsyncSession, settings: Settings, initiative: Initiative, by: Actor, addresses: list[str]
) -> list[str]:
    """Invite ``addresses`` by mail to ``initiative`` (its creator and partners may).

    Every address is checked first, so a wrong one sends nothing (``ServiceError``).
    Returns the addresses mailed.
    """
    await require_edit(db, initiative, by)
    cleaned: list[str] = []
    for raw in addresses:
        address = validate_email(raw)
        if address not in cleaned:
            cleaned.append(address)
    if not cleaned:
        raise ServiceError("Please fill in at least one e-mail address.", field="emails")
    if len(cleaned) > MAX_PER_REQUEST:
        raise ServiceError("Please invite at most %(max)s people at once.", field="emails",
                           max=MAX_PER_REQUEST)
    for address in cleaned:
        # Counted per mail: ``LimitReached`` (a RateLimited) stops the rest.
        await ratelimit.take(db, INITIATIVE_INVITES_PER_ACCOUNT, str(by.id))
        await queue_initiative_invite_mail(db, settings, initiative, by, address)
    return cleaned
