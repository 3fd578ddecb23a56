"""The mail worker: sends queued ``OutgoingMail`` rows over SMTP, with retries.

``FEDI_SMTP_URL`` names the server::

    smtp://user:password@host:587            STARTTLS when the server offers it
    smtp+starttls://user:password@host:587   STARTTLS required
    smtps://user:password@host:465           TLS from the first byte (implicit TLS)

(user and password are optional and URL-encoded; the port defaults to 25, 587 and 465).
Without it every mail is written as ``<data dir>/mail/<id>-<kind>.eml`` and counts as
sent, so a development instance or one without a mail server loses nothing either.

Outcomes: the server took the mail -> ``sent``. The server refused the recipient or the
message with a 5xx -> ``failed`` with its answer in ``last_error``, never retried (asking
again gets the same answer). Anything else (the server is down, a 4xx, a timeout, a wrong
login that an admin may still fix) is retried after ``30 s * 2^attempts`` (at most 6 h),
and given up (``failed``) three days after the mail was queued. Like deliveries, rows are
claimed with a lease (``fedi.workers.claims``) and the database is never held while the
mail server is talked to.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy import update

from fedi.settings import Settings
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from fedi.workers.delivery import GIVE_UP_AFTER, backoff
from models import OutgoingMail, utcnow

__all__ = ["BATCH", "MailWorker", "SmtpConfig", "build_message", "mail_folder", "parse_smtp_url"]

log = logging.getLogger(__name__)

BATCH = 20
SEND_TIMEOUT_SECONDS = 30.0
_SCHEMES = {"smtp": (25, False, None), "smtp+starttls": (587, False, True),
            "smtps": (465, True, False)}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to hand mails over, read from ``FEDI_SMTP_URL``."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    # True: STARTTLS required; None: when the server offers it; False: never.
    start_tls: bool | None


def parse_smtp_url(url: str) -> SmtpConfig:
    """Read an ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL; ``ValueError`` if wrong."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError("FEDI_SMTP_URL must look like smtp://user:password@host:587 "
                         "(or smtp+starttls://, smtps://)")
    default_port, use_tls, start_tls = _SCHEMES[parts.scheme]
    query = parse_qs(parts.query)
    if query.get("starttls") == ["1"]:
        start_tls = True
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )


def sender_address(settings: Settings) -> str:
    """``FEDI_MAIL_FROM``, or ``noreply@`` the instance's domain."""
    return settings.mail_from or f"noreply@{settings.domain or 'localhost'}"


def mail_folder(settings: Settings) -> Path:
    """Where mails go when no SMTP server is configured."""
    return settings.data_dir / "mail"


def build_message(settings: Settings, mail: OutgoingMail) -> EmailMessage:
    """The MIME message for a queued row: plain text, with an HTML alternative if any."""
    message = EmailMessage()
    message["From"] = formataddr((settings.instance_name, sender_address(settings)))
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    # The same id on every attempt, so a mail that did arrive before a lost answer and is
    # sent again can be recognised as a duplicate by mail programs.
    message["Message-ID"] = (
        f"<mail-{mail.id}.{int(mail.created_at.timestamp())}@{settings.domain or 'localhost'}>"
    )
    # RFC 3834: no out-of-office replies to notifications and reset links.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (mail.headers or {}).items():
        message[name] = str(value)
    message.set_content(mail.text_body)
    if mail.html_body:
        message.add_alternative(mail.html_body, subtype="html")
    return message


@dataclass(frozen=True)
class _Outcome:
    sent: bool
    final: bool
    error: str | None = None


def _classify(exc: Exception) -> _Outcome:
    """Sent never; failed for good on a 5xx refusal of the recipient or message; else retry."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return _Outcome(False, bool(codes) and all(code >= 500 for code in codes),
                        f"recipient refused: {text}")
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        kind = "recipient" if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else "message"
        return _Outcome(False, exc.code >= 500, f"{kind} refused: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # A refused sender or login is the instance's configuration: retry, it may be fixed.
        return _Outcome(False, False, f"{exc.code} {exc.message}")
    return _Outcome(False, False, f"{type(exc).__name__}: {exc}" if str(exc) else
                    type(exc).__name__)


class MailWorker:
    """Claims due mails and sends them; ``run_once`` handles one batch."""

    def __init__(self, state: AppState, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Prepare a worker for ``state``; the SMTP URL is checked here, once."""
        self.state = state
        self.lease = lease
        url = state.settings.smtp_url
        self.smtp = parse_smtp_url(url) if url else None

    async def run_once(self) -> int:
        """Send the due mails of one batch; how many were handled (sent, failed or retried)."""
        now = utcnow()
        async with self.state.db.session() as db:
            ids = await claim_due(db, OutgoingMail, now=now, limit=BATCH, lease=self.lease)
        if not ids:
            return 0
        async with self.state.db.session() as db:
            mails = [mail for mail_id in ids if (mail := await db.get(OutgoingMail, mail_id))]
            db.expunge_all()
        for mail in mails:
            outcome = await self._send(mail)
            await self._record(mail, outcome)
        return len(mails)

    async def _send(self, mail: OutgoingMail) -> _Outcome:
        settings = self.state.settings
        message = build_message(settings, mail)
        if self.smtp is None:
            return self._write_file(mail, message)
        smtp = self.smtp
        try:
            await aiosmtplib.send(
                message, sender=sender_address(settings), recipients=[mail.to_address],
                hostname=smtp.host, port=smtp.port, username=smtp.username,
                password=smtp.password, use_tls=smtp.use_tls, start_tls=smtp.start_tls,
                timeout=SEND_TIMEOUT_SECONDS,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return _classify(exc)
        return _Outcome(True, True)

    def _write_file(self, mail: OutgoingMail, message: EmailMessage) -> _Outcome:
        folder = mail_folder(self.state.settings)
        folder.mkdir(parents=True, exist_ok=True)
        kind = re.sub(r"[^a-z0-9_-]", "_", mail.kind.lower())
        path = folder / f"{mail.id:08d}-{kind}.eml"
        # Written beside and renamed, so a reader never sees half a mail.
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(message.as_bytes())
        partial.replace(path)
        return _Outcome(True, True)

    async def _record(self, mail: OutgoingMail, outcome: _Outcome) -> None:
        now = utcnow()
        attempts = mail.attempts + 1
        values: dict[str, object] = {"attempts": attempts, "claimed_until": None}
        if outcome.sent:
            values.update(state="sent", sent_at=now, last_error=None)
        elif outcome.final:
            values.update(state="failed", last_error=outcome.error)
            log.warning("mail %s to %s failed for good: %s", mail.id, mail.to_address,
                        outcome.error)
        elif now - mail.created_at >= GIVE_UP_AFTER:
            values.update(state="failed", last_error=f"gave up: {outcome.error}")
        else:
            values.update(next_try_at=now + backoff(attempts), last_error=outcome.error)
            log.info("mail %s waits for a retry: %s", mail.id, outcome.error)
        async with self.state.db.session() as db:
            await db.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail.id, OutgoingMail.state == "pending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
