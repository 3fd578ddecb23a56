"""One-click unsubscribe (RFC 8058) and the e-mail confirmation notice on the account page."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from account_helpers import login, make_user, post_form, text
from sqlalchemy import select

from fedi.domain.mail import mail_translator, render_mail
from fedi.domain.mail_unsubscribe import mail_wanted, queue_unsubscribable_mail
from fedi.state import FediApp
from fedi.workers.mail import MailWorker, mail_folder
from models import NotificationSetting, OutgoingMail, User


async def _queue_reminder(app: FediApp, user_id: int) -> OutgoingMail | None:
    settings = app.state.settings
    _ = mail_translator(settings, "nl")
    body = render_mail(settings, locale="nl", subject="Herinnering",
                       paragraphs=[_("Hello %(name)s,", name="alice")])
    async with app.state.db.session() as db:
        user = await db.get(User, user_id)
        assert user is not None
        return await queue_unsubscribable_mail(db, settings, user, "meetup_reminder", body)


async def test_one_click_unsubscribe_switches_that_kind_off(app: FediApp) -> None:
    alice = await make_user(app, "alice")
    assert await _queue_reminder(app, alice.id) is not None
    assert await MailWorker(app.state).run_once() == 1
    [path] = mail_folder(app.state.settings).glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(message["List-Unsubscribe"]).strip("<>")
    path_only = url.removeprefix("http://localhost:8000")
    assert path_only.startswith("/unsubscribe/")

    client = app.test_client()
    # Opening the link (as link scanners do) changes nothing; it shows a button.
    page = await client.get(path_only)
    assert page.status_code == 200 and "Herinneringen" in await text(page)
    async with app.state.db.session() as db:
        user = await db.get(User, alice.id)
        assert user is not None and await mail_wanted(db, user, "meetup_reminder")
    # The mail program's one-click POST: no cookies, no CSRF token.
    done = await client.post(path_only, form={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    async with app.state.db.session() as db:
        user = await db.get(User, alice.id)
        assert user is not None and not await mail_wanted(db, user, "meetup_reminder")
        assert await mail_wanted(db, user, "meetup_cancelled")  # only that kind
        setting = await db.scalar(select(NotificationSetting).where(
            NotificationSetting.actor_id == user.actor_id))
        assert setting is not None and setting.in_app and setting.digest
    assert await _queue_reminder(app, alice.id) is None  # no more mails of that kind
    # A forged link (another kind, another account) is refused.
    forged = path_only.replace("meetup_reminder", "meetup_cancelled")
    assert (await client.post(forged, form={"List-Unsubscribe": "One-Click"})
            ).status_code == 404
    bob = await make_user(app, "bob")
    other = path_only.replace(f"/unsubscribe/{alice.id}.", f"/unsubscribe/{bob.id}.")
    assert (await client.get(other)).status_code == 404


async def test_the_account_page_asks_to_confirm_the_address(app: FediApp) -> None:
    await make_user(app, "alice")
    client = app.test_client()
    await login(client, "alice")
    page = await text(await client.get("/account"))
    assert "nog niet bevestigd" in page
    response = await post_form(client, "/account", "/account/confirm-email", {})
    assert response.status_code == 302
    async with app.state.db.session() as db:
        mails = list(await db.scalars(select(OutgoingMail)))
    assert [mail.kind for mail in mails] == ["email_confirm"]
    assert mails[0].headers == {}  # no unsubscribing from what the account needs
