"""A real SMTP server for the mail tests (aiosmtpd on a loopback port, in its own thread)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fedi.app import create_app
from fedi.settings import Settings
from fedi.state import FediApp

USER = "mailer"
SECRET = "s3cret/pass"  # "/" must survive URL encoding
_LINK = re.compile(r"http://localhost:8000/[^\s<>\"]+")


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted mail, refuses the addresses in ``refuse``."""

    refuse: set[str] = field(default_factory=set)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(  # aiosmtpd calls hooks by these names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        """Refuse the listed recipients for good (550), take the others."""
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        """Keep the mail as a parsed message."""
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode() and auth_data.password == SECRET.encode()
    )
    return AuthResult(success=ok)


def free_port() -> int:
    """A loopback port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """An SMTP server that requires a login (``USER``/``SECRET``) on ``port``."""

    def __init__(self, port: int, recorder: Recorder | None = None) -> None:
        self.port = port
        self.recorder = recorder or Recorder()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        """The FEDI_SMTP_URL for this server, with its login."""
        return f"smtp://{USER}:{SECRET.replace('/', '%2F')}@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (blocking until the server answers)."""
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port,
            authenticator=_authenticate, auth_required=True, auth_require_tls=False,
        )
        self.controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def text_part(message: EmailMessage) -> str:
    """The plain-text body of a mail."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_part(message: EmailMessage) -> str:
    """The HTML body of a mail."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def links(body: str) -> list[str]:
    """The links to our test instance in a mail body."""
    return _LINK.findall(body)


async def running_app(settings: Settings) -> AsyncIterator[FediApp]:
    """An app on ``settings`` with its schema made, inside its test context."""
    application = create_app(settings)
    await application.state.db.upgrade()
    async with application.test_app():
        yield application
