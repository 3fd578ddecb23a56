"""The mail queue against a real SMTP server: reset by mail end to end, outages, refusals.

Every test runs on SQLite and PostgreSQL (the ``settings`` fixture is parametrised).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from account_helpers import PASSWORD, login, make_user, post_form, text
from smtp_helpers import SmtpServer, free_port, html_part, links, running_app, text_part
from sqlalchemy import select, update

from fedi.settings import Settings, SettingsError
from fedi.state import FediApp
from fedi.workers.mail import MailWorker, parse_smtp_url
from fedi.workers.runner import WorkerRunner
from models import OutgoingMail, User, utcnow

NEW_PASSWORD = "Kastanjeboom-77"
# The test server takes a login over plain text on loopback; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def _mails(app: FediApp) -> list[OutgoingMail]:
    async with app.state.db.session() as db:
        return list(await db.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


async def _forgot(client: Any, login_name: str) -> Any:
    return await post_form(client, "/forgot", "/forgot", {"login": login_name})


async def test_password_reset_by_mail_end_to_end(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    client = mail_app.test_client()
    await make_user(mail_app, "alice")
    login_page = await text(await client.get("/login"))
    assert 'href="/forgot"' in login_page
    response = await _forgot(client, "alice@example.org")
    assert response.status_code == 200
    assert "onderweg" in await text(response)  # the neutral answer, in Dutch
    assert response.headers["Cache-Control"] == "no-store"
    # Nothing is sent inside the request: the mail waits in the queue for the worker.
    assert smtp.recorder.messages == []
    [queued] = await _mails(mail_app)
    assert queued.state == "pending" and queued.kind == "password_reset"

    assert await MailWorker(mail_app.state).run_once() == 1
    [message] = smtp.recorder.messages
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == "Kies een nieuw wachtwoord voor Part-up"
    assert message["Auto-Submitted"] == "auto-generated"
    assert smtp.recorder.envelopes == [("noreply@localhost", ["alice@example.org"])]
    body = text_part(message)
    assert "Hallo alice," in body
    [link] = links(body)
    assert link in html_part(message) and "<a href=" in html_part(message)
    [sent] = await _mails(mail_app)
    assert sent.state == "sent" and sent.sent_at is not None and sent.attempts == 1

    path = link.removeprefix("http://localhost:8000")
    assert path.startswith("/reset/")
    reset = await post_form(client, path, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
    })
    assert reset.status_code == 302 and reset.headers["Location"] == "/login"
    assert (await login(client, "alice", PASSWORD)).status_code == 400
    assert (await login(client, "alice", NEW_PASSWORD)).status_code == 302
    assert (await client.get("/account")).status_code == 200
    # The link worked once.
    assert (await client.get(path)).status_code == 404


async def test_the_forgot_form_answers_the_same_for_every_name(mail_app: FediApp) -> None:
    await make_user(mail_app, "alice")
    await make_user(mail_app, "bob", approved=False)
    client = mail_app.test_client()
    token = re.compile(r'value="[^"]{20,}"|content="[^"]{20,}"')
    answers = []
    for name in ("alice", "nobody", "nobody@example.org", "bob", ""):
        response = await _forgot(client, name)
        assert response.status_code == 200, name
        answers.append(token.sub("", await text(response)))
    assert all(answer == answers[0] for answer in answers)
    # Only the existing, approved account got a mail.
    assert [mail.to_address for mail in await _mails(mail_app)] == ["alice@example.org"]


async def test_reset_mails_are_limited_per_account_silently_and_per_address(
    mail_app: FediApp,
) -> None:
    await make_user(mail_app, "alice")
    client = mail_app.test_client()
    answers = {await text(await _forgot(client, "alice")) for _ in range(4)}
    assert len({re.sub(r'value="[^"]{20,}"', "", answer) for answer in answers}) == 1
    # Three an hour per account; the fourth request looked the same but sent nothing.
    assert len(await _mails(mail_app)) == 3
    # Five per quarter of an hour per address: the sixth request is refused openly.
    assert (await _forgot(client, "nobody")).status_code == 200
    refused = await _forgot(client, "alice")
    assert refused.status_code == 429 and "Retry-After" in refused.headers


async def test_a_mail_waits_while_the_server_is_down_and_goes_out_later(
    settings: Settings,
) -> None:
    server = SmtpServer(free_port())  # not started: the port is closed
    async for app in running_app(settings.with_changes(smtp_url=server.url)):
        await make_user(app, "alice")
        await _forgot(app.test_client(), "alice")
        worker = MailWorker(app.state)
        assert await worker.run_once() == 1
        [waiting] = await _mails(app)
        assert waiting.state == "pending" and waiting.attempts == 1
        assert waiting.last_error and waiting.claimed_until is None
        assert waiting.next_try_at > utcnow() + timedelta(seconds=10)
        assert await worker.run_once() == 0  # not due yet

        server.start()
        try:
            # Time passes until the retry is due.
            async with app.state.db.session() as db:
                await db.execute(update(OutgoingMail).values(next_try_at=utcnow()))
            assert await worker.run_once() == 1
            [sent] = await _mails(app)
            assert sent.state == "sent" and sent.attempts == 2 and sent.last_error is None
            [message] = server.recorder.messages
            assert message["To"] == "alice@example.org"
        finally:
            server.stop()


async def test_a_refused_recipient_fails_for_good(mail_app: FediApp, smtp: SmtpServer) -> None:
    smtp.recorder.refuse.add("alice@example.org")
    await make_user(mail_app, "alice")
    await _forgot(mail_app.test_client(), "alice")
    worker = MailWorker(mail_app.state)
    assert await worker.run_once() == 1
    [failed] = await _mails(mail_app)
    assert failed.state == "failed" and failed.attempts == 1
    assert failed.last_error is not None and "550" in failed.last_error
    async with mail_app.state.db.session() as db:
        await db.execute(update(OutgoingMail).values(next_try_at=utcnow() - timedelta(days=1)))
    assert await worker.run_once() == 0  # never tried again
    assert smtp.recorder.messages == []


async def test_without_smtp_mails_are_files_in_the_data_folder(settings: Settings) -> None:
    async for app in running_app(settings):
        client = app.test_client()
        response = await post_form(client, "/register", "/register", {
            "username": "carol", "email": "carol@example.org", "password": PASSWORD,
            "password_confirm": PASSWORD,
        })
        assert response.status_code == 302
        async with app.state.db.session() as db:
            user = await db.scalar(select(User).where(User.email == "carol@example.org"))
            assert user is not None and user.email_confirmed_at is None
        assert await MailWorker(app.state).run_once() == 1
        [path] = sorted((settings.data_dir / "mail").glob("*.eml"))
        assert path.name.endswith("-email_confirm.eml")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == "Bevestig je e-mailadres voor Part-up"
        [link] = links(text_part(message))
        confirmed = await client.get(link.removeprefix("http://localhost:8000"))
        assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/account"
        async with app.state.db.session() as db:
            user = await db.scalar(select(User).where(User.email == "carol@example.org"))
            assert user is not None and user.email_confirmed_at is not None
        # A tampered link is refused.
        assert (await client.get(link.removeprefix("http://localhost:8000") + "x")
                ).status_code == 404


async def test_the_worker_runner_sends_mail(mail_app: FediApp, smtp: SmtpServer) -> None:
    await make_user(mail_app, "alice")
    await _forgot(mail_app.test_client(), "alice")
    runner = WorkerRunner(mail_app.state, poll=0.05)
    await runner.start()
    try:
        for _ in range(200):
            if smtp.recorder.messages:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert len(smtp.recorder.messages) == 1


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://me%40example.org:p%2Fw@mail.example.org")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.example.org", 25, "me@example.org", "p/w")
    assert plain.start_tls is None and not plain.use_tls
    starttls = parse_smtp_url("smtp+starttls://mail.example.org")
    assert starttls.port == 587 and starttls.start_tls is True
    assert parse_smtp_url("smtp://mail.example.org:587?starttls=1").start_tls is True
    implicit = parse_smtp_url("smtps://mail.example.org")
    assert implicit.port == 465 and implicit.use_tls and implicit.start_tls is False
    with pytest.raises(ValueError, match="FEDI_SMTP_URL"):
        parse_smtp_url("http://mail.example.org")


def test_a_wrong_smtp_url_stops_the_start(tmp_path: Any) -> None:
    with pytest.raises(SettingsError, match="FEDI_SMTP_URL"):
        Settings.from_env({"FEDI_SMTP_URL": "mail.example.org:25",
                           "FEDI_DATA_DIR": str(tmp_path)})
    settings = Settings.from_env({"FEDI_SMTP_URL": "smtps://me:pw@mail.example.org",
                                  "FEDI_MAIL_FROM": "team@example.org",
                                  "FEDI_DATA_DIR": str(tmp_path)})
    assert settings.smtp_url == "smtps://me:pw@mail.example.org"
    assert settings.mail_from == "team@example.org"
