"""Notifications by e-mail at once, the digest mail and invitations, on a real SMTP server.

The SMTP server is aiosmtpd on a loopback port (``tests/mail/smtp_helpers.py``); the
notification mailer and the mail worker run one batch at a time, as their loops would.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update

from fedi.domain import notifications, tribe_members, tribes
from fedi.domain.notify_digest import period_end
from fedi.domain.tribe_access import membership
from fedi.settings import Settings
from fedi.state import FediApp
from fedi.workers.digest import sweep_once
from fedi.workers.mail import MailWorker
from fedi.workers.notify_mail import NotificationMailer
from fedi.workers.runner import WorkerRunner
from models import Notification, NotificationPreference, OutgoingMail, User, utcnow
from tests.initiative_helpers import make_initiative, make_world
from tests.mail.smtp_helpers import (
    SmtpServer,
    free_port,
    html_part,
    links,
    running_app,
    text_part,
)
from tests.notifications.notify_helpers import confirm_all_addresses, kinds_of
from tests.tribe_helpers import actor_named, login, make_person, make_tribe, post_form

# The test server takes a login over plain text on loopback; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def _send_all(app: FediApp) -> int:
    """What the worker loops do: marked notifications -> queued mails -> SMTP."""
    await NotificationMailer(app.state).run_once()
    sent = 0
    while done := await MailWorker(app.state).run_once():
        sent += done
    return sent


def _to(smtp: SmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp.recorder.messages if m["To"] == address]


async def _approval_tribe(app: FediApp) -> None:
    for name in ("ann", "bob", "cas"):
        await make_person(app, name)
    await make_tribe(app, "buurt", "ann", join_mode="approval", name="De Buurt")


async def _ask_to_join(app: FediApp, name: str) -> None:
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        await tribe_members.join(db, app.state.settings, tribe, await actor_named(db, name))


async def test_a_join_request_reaches_the_owner_and_the_answer_the_requester(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    await _approval_tribe(mail_app)
    await confirm_all_addresses(mail_app)
    await _ask_to_join(mail_app, "bob")
    # Queued by the notification mailer, never inside the request itself.
    async with mail_app.state.db.session() as db:
        assert list(await db.scalars(select(OutgoingMail))) == []
    await _send_all(mail_app)
    [asked] = _to(smtp, "ann@example.org")
    assert asked["Subject"] == "bob vraagt om lid te worden van De Buurt"
    assert asked["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in str(asked["List-Unsubscribe"])
    body = text_part(asked)
    assert "Hallo ann," in body
    assert "http://localhost:8000/tribes/buurt/members" in links(body)
    assert 'href="http://localhost:8000/tribes/buurt/members"' in html_part(asked)

    async with mail_app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        await tribe_members.approve_request(
            db, mail_app.state.settings, tribe, await actor_named(db, "ann"),
            await actor_named(db, "bob"),
        )
    await _send_all(mail_app)
    [answer] = _to(smtp, "bob@example.org")
    assert answer["Subject"] == "Je verzoek om lid te worden van De Buurt is geaccepteerd"
    assert "http://localhost:8000/tribes/buurt" in links(text_part(answer))


async def test_only_confirmed_addresses_get_mail_in_their_language(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    await _approval_tribe(mail_app)
    async with mail_app.state.db.session() as db:
        # ann confirmed her address and reads English; nobody else confirmed.
        await db.execute(update(User).where(User.email == "ann@example.org").values(
            email_confirmed_at=utcnow(), locale="en"))
    await _ask_to_join(mail_app, "bob")
    async with mail_app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "buurt")
        await tribe_members.reject_request(
            db, mail_app.state.settings, tribe, await actor_named(db, "ann"),
            await actor_named(db, "bob"),
        )
    await _send_all(mail_app)
    assert [m["To"] for m in smtp.recorder.messages] == ["ann@example.org"]
    assert smtp.recorder.messages[0]["Subject"] == "bob asks to join De Buurt"
    # bob is told in the app all the same.
    assert "tribe_join_rejected" in await kinds_of(mail_app, "bob")
    async with mail_app.state.db.session() as db:
        pending = await db.scalars(select(Notification).where(Notification.email_pending))
        assert list(pending) == []


async def test_unsubscribe_stops_one_kind_only(mail_app: FediApp, smtp: SmtpServer) -> None:
    await _approval_tribe(mail_app)
    await confirm_all_addresses(mail_app)
    await _ask_to_join(mail_app, "bob")
    await _send_all(mail_app)
    [first] = _to(smtp, "ann@example.org")
    url = str(first["List-Unsubscribe"]).strip().strip("<>")
    client = mail_app.test_client()
    done = await client.post(url.removeprefix("http://localhost:8000"),
                             form={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200

    await _ask_to_join(mail_app, "cas")
    async with mail_app.state.db.session() as db:
        ann = await actor_named(db, "ann")
        # Another kind still goes out by mail.
        await notifications.notify(db, [ann], "mention", by=await actor_named(db, "cas"),
                                   payload={"initiative": "het plein"})
    await _send_all(mail_app)
    subjects = [m["Subject"] for m in _to(smtp, "ann@example.org")]
    assert subjects == ["bob vraagt om lid te worden van De Buurt",
                        "cas noemde je in het plein"]
    # The request is still in the app.
    assert (await kinds_of(mail_app, "ann")).count("tribe_join_requested") == 2


async def test_mails_wait_while_the_server_is_down_and_go_out_later(settings: Settings) -> None:
    server = SmtpServer(free_port())  # not started: the port is closed
    async for app in running_app(settings.with_changes(smtp_url=server.url)):
        await _approval_tribe(app)
        await confirm_all_addresses(app)
        await _ask_to_join(app, "bob")
        await _send_all(app)
        async with app.state.db.session() as db:
            [waiting] = list(await db.scalars(select(OutgoingMail)))
            assert waiting.state == "pending" and waiting.attempts == 1
            assert waiting.kind == "tribe_join_requested"
        server.start()
        try:
            async with app.state.db.session() as db:  # time passes until the retry is due
                await db.execute(update(OutgoingMail).values(next_try_at=utcnow()))
            await _send_all(app)
            [message] = server.recorder.messages
            assert message["To"] == "ann@example.org"
            async with app.state.db.session() as db:
                [sent] = list(await db.scalars(select(OutgoingMail)))
                assert sent.state == "sent" and sent.attempts == 2
        finally:
            server.stop()


async def _notify_at(app: FediApp, name: str, kind: str, by: str, when: datetime) -> None:
    async with app.state.db.session() as db:
        [note] = await notifications.notify(
            db, [await actor_named(db, name)], kind, by=await actor_named(db, by),
            payload={"excerpt": f"post {when:%H}", "url": "http://localhost:8000/@ann"},
        )
        note.created_at = when


async def test_a_digest_collects_a_days_events_into_one_mail(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    for name in ("ann", "bob", "cas"):
        await make_person(mail_app, name)
    await confirm_all_addresses(mail_app)
    now = utcnow()
    today = period_end(now, "daily")
    yesterday = today - timedelta(days=1)
    await _notify_at(mail_app, "ann", "like", "bob", yesterday + timedelta(hours=9))
    await _notify_at(mail_app, "ann", "boost", "cas", yesterday + timedelta(hours=13))
    await _notify_at(mail_app, "ann", "follow", "cas", yesterday + timedelta(hours=20))
    await _notify_at(mail_app, "ann", "like", "cas", yesterday - timedelta(hours=3))  # too old
    await _notify_at(mail_app, "ann", "like", "cas", today + timedelta(minutes=1))  # today's
    # Likes, boosts and follows are no mail at once: nothing but the digest.
    await _send_all(mail_app)
    assert smtp.recorder.messages == []

    assert await sweep_once(mail_app.state, now=today + timedelta(hours=2)) == 1
    assert await sweep_once(mail_app.state, now=today + timedelta(hours=3)) == 0  # once a day
    await _send_all(mail_app)
    [digest] = smtp.recorder.messages
    assert digest["To"] == "ann@example.org"
    assert digest["Subject"] == "Je dagelijkse overzicht van Part-up"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = text_part(digest)
    assert "bob vindt je bericht leuk: post 09" in body
    assert "cas heeft je bericht gedeeld: post 13" in body
    assert "cas volgt je nu" in body
    assert "post 21" not in body and "post 00" not in body.replace("post 09", "")
    assert yesterday.date().isoformat() in html_part(digest)
    # bob and cas had nothing: no mail. Tomorrow ann's next day is mailed.
    assert await sweep_once(mail_app.state, now=today + timedelta(days=1, hours=1)) == 1

    # The digest's own unsubscribe link turns the digest mail off.
    url = str(digest["List-Unsubscribe"]).strip().strip("<>").removeprefix("http://localhost:8000")
    stopped = await mail_app.test_client().post(url, form={"List-Unsubscribe": "One-Click"})
    assert stopped.status_code == 200, url
    async with mail_app.state.db.session() as db:
        pref = await db.get(NotificationPreference, (await actor_named(db, "ann")).id)
        assert pref is not None and pref.digest_frequency == "off"
    await _notify_at(mail_app, "ann", "like", "bob", today + timedelta(days=1, hours=5))
    assert await sweep_once(mail_app.state, now=today + timedelta(days=2, hours=1)) == 0


async def test_a_weekly_digest_comes_on_monday(mail_app: FediApp, smtp: SmtpServer) -> None:
    await make_person(mail_app, "ann")
    await make_person(mail_app, "bob")
    await confirm_all_addresses(mail_app)
    async with mail_app.state.db.session() as db:
        await notifications.set_digest_frequency(db, await actor_named(db, "ann"), "weekly")
    # Two Mondays ahead: a new rhythm starts from the moment it is chosen.
    monday = period_end(utcnow(), "weekly") + timedelta(days=14)
    await _notify_at(mail_app, "ann", "like", "bob", monday - timedelta(days=2))
    await _notify_at(mail_app, "ann", "like", "bob", monday - timedelta(days=5))
    assert await sweep_once(mail_app.state, now=monday - timedelta(hours=1)) == 0
    assert await sweep_once(mail_app.state, now=monday + timedelta(hours=1)) == 1
    await _send_all(mail_app)
    [digest] = smtp.recorder.messages
    assert digest["Subject"] == "Je wekelijkse overzicht van Part-up"
    assert text_part(digest).count("bob vindt je bericht leuk") == 2


async def test_an_invitation_mail_has_a_working_link(mail_app: FediApp, smtp: SmtpServer) -> None:
    await make_person(mail_app, "ann")
    await make_person(mail_app, "eva")
    await make_tribe(mail_app, "plein", "ann", join_mode="invite", name="Het Plein")
    admin = mail_app.test_client()
    await login(admin, "ann")
    response = await post_form(admin, "/tribes/plein/invite/people",
                               {"entries": "vriend@example.net"}, page="/tribes/plein/invite")
    assert response.status_code == 200
    assert "vriend@example.net" in await response.get_data(as_text=True)
    await _send_all(mail_app)
    [invitation] = _to(smtp, "vriend@example.net")
    assert invitation["Subject"] == "ann nodigt je uit voor Het Plein"
    [link] = [url for url in links(text_part(invitation)) if "/join/" in url]
    assert link in html_part(invitation)

    # Whoever has the link joins with it (here eva, logged in).
    path = link.removeprefix("http://localhost:8000")
    guest = mail_app.test_client()
    await login(guest, "eva")
    assert (await guest.get(path)).status_code == 200
    joined = await post_form(guest, path, {})
    assert joined.status_code in (302, 303)
    async with mail_app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, "plein")
        member = await membership(db, tribe, await actor_named(db, "eva"))
        assert member is not None and member.state == "active"


async def test_partners_invite_people_to_an_initiative_by_mail(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    world = await make_world(mail_app)
    item = await make_initiative(mail_app, world)
    page = f"/initiatives/{item.id}"
    ann = mail_app.test_client()
    await login(ann, "ann")
    assert "invite-by-mail" in await (await ann.get(page)).get_data(as_text=True)
    done = await post_form(ann, f"{page}/invite-by-mail",
                           {"emails": "buur@example.net, bob@example.org"}, page=page)
    assert done.status_code == 303
    await _send_all(mail_app)
    [invitation] = _to(smtp, "buur@example.net")
    assert invitation["Subject"] == "ann nodigt je uit om mee te doen aan Terras in de zon"
    assert f"http://localhost:8000{page}" in links(text_part(invitation))
    assert len(_to(smtp, "bob@example.org")) == 1
    # Someone who is not a partner cannot send invitations, and a wrong address sends none.
    cas = mail_app.test_client()
    await login(cas, "cas")
    refused = await post_form(cas, f"{page}/invite-by-mail", {"emails": "x@example.net"},
                              page=page)
    assert refused.status_code == 303
    await post_form(ann, f"{page}/invite-by-mail", {"emails": "ok@example.net nope"},
                    page=page)
    await _send_all(mail_app)
    assert _to(smtp, "x@example.net") == [] and _to(smtp, "ok@example.net") == []


async def test_the_worker_runner_mails_a_notification_at_once(
    mail_app: FediApp, smtp: SmtpServer
) -> None:
    await _approval_tribe(mail_app)
    await confirm_all_addresses(mail_app)
    runner = WorkerRunner(mail_app.state, poll=0.05)
    await runner.start()
    try:
        await _ask_to_join(mail_app, "bob")
        for _ in range(400):  # bounded: up to 20 s on a loaded machine
            if _to(smtp, "ann@example.org"):
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    [message] = _to(smtp, "ann@example.org")
    assert message["Subject"] == "bob vraagt om lid te worden van De Buurt"
