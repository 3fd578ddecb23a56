"""Queueing e-mail: a mail is a row written in the caller's transaction, never sent here.

The mail worker (``fedi.workers.mail``) sends the rows later with retries, so a request
never waits for a mail server and a mail server that is down loses nothing. Bodies are
rendered here from the layouts in ``templates/mail/`` (plain text and HTML) in the
recipient's language.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.i18n import SUPPORTED_LOCALES, Translator
from fedi.settings import Settings
from models import OutgoingMail, User

__all__ = [
    "MailBody",
    "mail_locale",
    "mail_translator",
    "queue_mail",
    "render_mail",
    "sign",
    "unsubscribe_headers",
]

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "mail"
# One environment for every mail: HTML layouts are autoescaped, text layouts are not.
_ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
MAX_SUBJECT = 998  # RFC 5322's line limit; longer subjects are cut


@dataclass(frozen=True)
class MailBody:
    """The subject and both bodies of one rendered mail."""

    subject: str
    text: str
    html: str


@functools.lru_cache(maxsize=4)
def _translator(default_locale: str) -> Translator:
    # Building a Translator compiles every catalogue: once per process is enough.
    return Translator(default_locale)


def mail_locale(settings: Settings, user: User | None) -> str:
    """The language a mail to ``user`` is written in: theirs, else the instance's."""
    if user is not None and user.locale in SUPPORTED_LOCALES:
        return str(user.locale)
    return settings.default_locale


def mail_translator(settings: Settings, locale: str) -> Callable[..., str]:
    """A ``_(message, **values)`` for ``locale``, like the one templates use."""
    translator = _translator(settings.default_locale)

    def translate(message: str, **values: Any) -> str:
        translated = translator.gettext(locale, message)
        return translated % values if values else translated

    return translate


def render_mail(
    settings: Settings,
    *,
    subject: str,
    paragraphs: Sequence[str],
    action_url: str | None = None,
    action_label: str = "",
    footer: Sequence[str] = (),
    locale: str,
) -> MailBody:
    """Both bodies of a mail from already translated parts, in the common layout."""
    context = {
        "instance_name": settings.instance_name,
        "instance_url": settings.base_url,
        "subject": subject,
        "paragraphs": list(paragraphs),
        "action_url": action_url,
        "action_label": action_label,
        "footer": list(footer),
        "locale": locale,
    }
    text = _ENV.get_template("layout.txt").render(context)
    html = _ENV.get_template("layout.html").render(context)
    return MailBody(subject=subject, text=text, html=html)


def sign(settings: Settings, message: str) -> str:
    """A short URL-safe HMAC of ``message`` with the instance's secret key (for mail links)."""
    digest = hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for ``url`` (a POST to it switches off)."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


async def queue_mail(
    db: AsyncSession,
    settings: Settings,
    to: str,
    kind: str,
    subject: str,
    text: str,
    html: str | None,
    unsubscribe_url: str | None = None,
    *,
    user_id: int | None = None,
) -> OutgoingMail:
    """Add one mail to the queue inside the caller's transaction (sent after commit).

    ``kind`` says what the mail is for; with ``unsubscribe_url`` the mail carries
    ``List-Unsubscribe`` headers so mail programs offer a one-click unsubscribe.
    """
    del settings  # kept in the signature: senders and headers may depend on it later
    headers = unsubscribe_headers(unsubscribe_url) if unsubscribe_url else {}
    # A line break in a subject would start a new header: collapse whitespace.
    clean_subject = " ".join(subject.split())[:MAX_SUBJECT]
    mail = OutgoingMail(
        user_id=user_id, to_address=to.strip(), kind=kind[:64], subject=clean_subject,
        text_body=text, html_body=html, headers=headers,
    )
    db.add(mail)
    await db.flush()
    return mail
