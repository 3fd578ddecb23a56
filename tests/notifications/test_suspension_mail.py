"""A moderation decision about you reaches you by e-mail: the suspension of your account (with
the admin's reason) and its lifting, in your language, on a real SMTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from fedi.domain.account_suspension import suspend_account, unsuspend_account
from fedi.domain.users import get_user
from fedi.state import FediApp
from fedi.workers.mail import MailWorker
from models import User
from tests.mail.smtp_helpers import SmtpServer, text_part
from tests.tribe_helpers import make_person

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


async def _send_all(app: FediApp) -> None:
    while await MailWorker(app.state).run_once():
        pass


async def test_suspension_and_its_lifting_are_mailed(mail_app: FediApp, smtp: SmtpServer) -> None:
    await make_person(mail_app, "beheer", is_admin=True)
    await make_person(mail_app, "eva")
    async with mail_app.state.db.session() as db:
        await db.execute(update(User).where(User.email == "eva@example.org").values(locale="en"))
    async with mail_app.state.db.session() as db:
        admin = await get_user(db, "beheer")
        await suspend_account(db, mail_app.state.settings, "eva", acting=admin,
                              reason="Spam in three tribes")
    await _send_all(mail_app)
    [told] = [m for m in smtp.recorder.messages if m["To"] == "eva@example.org"]
    assert "suspended" in str(told["Subject"])
    assert "Spam in three tribes" in text_part(told)
    async with mail_app.state.db.session() as db:
        admin = await get_user(db, "beheer")
        await unsuspend_account(db, mail_app.state.settings, "eva", acting=admin)
    await _send_all(mail_app)
    lifted = [m for m in smtp.recorder.messages if m["To"] == "eva@example.org"][1:]
    assert len(lifted) == 1
    assert "works again" in str(lifted[0]["Subject"])
    assert "/login" in text_part(lifted[0])
