"""Login, registration, the account page and reset links through the Quart test client."""

from __future__ import annotations

import re
from typing import Any

from account_helpers import PASSWORD, csrf_from, login, make_user, post_form, text
from sqlalchemy import select

from fedi.app import create_app
from fedi.domain import accounts
from fedi.settings import Settings
from fedi.state import FediApp
from models import User


async def test_forms_without_a_csrf_token_are_refused(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    response = await client.post("/login", form={"login": "alice", "password": PASSWORD})
    assert response.status_code == 400
    response = await client.post("/login", form={"login": "alice", "password": PASSWORD,
                                                 "csrf_token": "forged"})
    assert response.status_code == 400
    assert (await client.get("/account")).status_code == 302  # still logged out


async def test_open_registration_logs_in_and_goes_to_profile_editing(
    client: Any, app: FediApp
) -> None:
    page = await text(await client.get("/register"))
    assert 'name="csrf_token"' in page and 'autocomplete="new-password"' in page
    assert 'name="reason"' not in page  # no "why" question in open mode
    response = await post_form(client, "/register", "/register", {
        "username": "Alice", "email": "alice@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD,
    })
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/profile"
    account = await client.get("/account")
    assert account.status_code == 200
    body = await text(account)
    assert "alice@example.org" in body and "@alice@localhost:8000" in body
    async with app.state.db.session() as db:
        user = await accounts.find_user(db, "alice")
    assert user is not None and user.locale == "nl"  # the language of the form is remembered


async def test_registration_errors_keep_values_but_never_the_password(client: Any) -> None:
    response = await post_form(client, "/register", "/register", {
        "username": "admin", "email": "me@example.org", "password": "Geheim-geheim-1",
        "password_confirm": "Geheim-geheim-1",
    })
    assert response.status_code == 400
    body = await text(response)
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="f-username-hint f-username-error"' in body
    assert 'id="f-username-error"' in body and "gereserveerd" in body  # Dutch by default
    assert 'value="me@example.org"' in body
    assert "Geheim-geheim-1" not in body
    mismatch = await post_form(client, "/register", "/register", {
        "username": "bob", "email": "bob@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD + "x",
    })
    assert mismatch.status_code == 400 and "f-password_confirm-error" in await text(mismatch)


async def test_login_errors_and_safe_redirects(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    wrong = await login(client, "alice", "Wrong-password-1")
    assert wrong.status_code == 400
    body = await text(wrong)
    assert 'aria-invalid="true"' in body and 'value="alice"' in body
    assert "Wrong-password-1" not in body
    response = await login(client, "alice", next_path="/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        await client.post("/logout", form={"csrf_token": await csrf_from(client, "/")})
        response = await login(client, "alice", next_path=evil)
        assert response.status_code == 302, evil
        assert response.headers["Location"] == "/", evil


async def test_login_rate_limit_answers_429(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    for _ in range(10):
        assert (await login(client, "alice", "Wrong-password-1")).status_code == 400
    limited = await login(client, "alice", PASSWORD)  # even the right password waits now
    assert limited.status_code == 429
    assert "Te veel pogingen" in await text(limited)


async def test_approval_mode_flow(client: Any, app: FediApp) -> None:
    await make_user(app, "boss", is_admin=True)
    async with app.state.db.session() as db:
        await accounts.set_registration_mode(db, "approval")
    page = await text(await client.get("/register"))
    assert 'name="reason"' in page
    response = await post_form(client, "/register", "/register", {
        "username": "newbie", "email": "newbie@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD, "reason": "Ik woon in de wijk",
    })
    assert response.status_code == 200
    assert "Wacht op goedkeuring" in await text(response)
    waiting = await login(client, "newbie")
    assert waiting.status_code == 403 and "wacht nog op goedkeuring" in await text(waiting)

    admin = app.test_client()
    await login(admin, "boss")
    overview = await text(await admin.get("/admin/"))
    assert "Ik woon in de wijk" in overview and "newbie@example.org" in overview
    approved = await post_form(admin, "/admin/", "/admin/users/newbie/approve", {})
    assert approved.status_code == 302
    assert (await login(client, "newbie")).status_code == 302


async def test_invite_mode_flow(client: Any, app: FediApp) -> None:
    await make_user(app, "boss", is_admin=True)
    async with app.state.db.session() as db:
        await accounts.set_registration_mode(db, "invite")
    explanation = await text(await client.get("/register"))
    assert "alleen met een uitnodiging" in explanation and 'name="username"' not in explanation
    refused = await post_form(client, "/", "/register", {
        "username": "gatecrasher", "email": "g@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD,
    })
    assert refused.status_code == 403

    admin = app.test_client()
    await login(admin, "boss")
    created = await post_form(admin, "/admin/", "/admin/invites", {"max_uses": "1", "days": "7"})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    link = re.search(r'value="(http://localhost:8000/register\?invite=[^"]+)"', await text(created))
    assert link
    path = link.group(1).removeprefix("http://localhost:8000")
    token = path.split("invite=", 1)[1]
    form_page = await text(await client.get(path))
    assert f'name="invite" value="{token}"' in form_page
    joined = await post_form(client, path, "/register", {
        "username": "guest", "email": "guest@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD, "invite": token,
    })
    assert joined.status_code == 302
    other = app.test_client()
    again = await post_form(other, path, "/register", {
        "username": "guest2", "email": "guest2@example.org", "password": PASSWORD,
        "password_confirm": PASSWORD, "invite": token,
    })
    assert again.status_code == 403


async def test_password_change_ends_other_sessions(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    laptop, phone = client, app.test_client()
    await login(laptop, "alice")
    await login(phone, "alice")
    assert "Actieve sessies" in await text(await laptop.get("/account"))
    wrong = await post_form(laptop, "/account", "/account/password", {
        "current_password": "nope", "password": "Nieuwe-lente-77",
        "password_confirm": "Nieuwe-lente-77",
    })
    assert wrong.status_code == 400 and "f-current_password-error" in await text(wrong)
    changed = await post_form(laptop, "/account", "/account/password", {
        "current_password": PASSWORD, "password": "Nieuwe-lente-77",
        "password_confirm": "Nieuwe-lente-77",
    })
    assert changed.status_code == 302
    assert (await laptop.get("/account")).status_code == 200
    assert (await phone.get("/account")).status_code == 302  # logged out there
    assert (await login(phone, "alice", "Nieuwe-lente-77")).status_code == 302


async def test_reset_link_works_once(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    async with app.state.db.session() as db:
        link = await accounts.create_reset_link(db, app.state.settings, "alice")
    path = link.removeprefix("http://localhost:8000")
    weak = await post_form(client, path, path, {"password": "kort", "password_confirm": "kort"})
    assert weak.status_code == 400 and "f-password-error" in await text(weak)
    done = await post_form(client, path, path, {
        "password": "Nieuwe-lente-77", "password_confirm": "Nieuwe-lente-77",
    })
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert (await client.get(path)).status_code == 404
    assert (await login(client, "alice", "Nieuwe-lente-77")).status_code == 302


async def test_tokens_and_language_on_the_account_page(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    assert (await client.get("/account")).headers["Location"] == "/login?next=/account"
    await login(client, "alice")
    created = await post_form(client, "/account", "/account/tokens", {"label": "my phone"})
    body = await text(created)
    token = re.search(r'value="(fpt_[^"]+)"', body)
    assert token and created.headers["Cache-Control"] == "no-store"
    async with app.state.db.session() as db:
        assert await accounts.authenticate_token(db, token.group(1)) is not None
    listing = await text(await client.get("/account"))
    assert "my phone" in listing and token.group(1) not in listing
    revoke_url = re.search(r'action="(/account/tokens/\d+/revoke)"', listing)
    assert revoke_url
    await post_form(client, "/account", revoke_url.group(1), {})
    async with app.state.db.session() as db:
        assert await accounts.authenticate_token(db, token.group(1)) is None

    saved = await post_form(client, "/account", "/account/language", {"locale": "en"})
    assert saved.status_code == 302
    assert "Your account" in await text(await client.get("/account"))
    async with app.state.db.session() as db:
        user = await db.scalar(select(User).where(User.email == "alice@example.org"))
    assert user is not None and user.locale == "en"


async def test_logout(client: Any, app: FediApp) -> None:
    await make_user(app, "alice")
    await login(client, "alice")
    response = await post_form(client, "/account", "/logout", {})
    assert response.status_code == 302
    assert (await client.get("/account")).status_code == 302


async def test_registration_rate_limit_answers_429(settings: Settings) -> None:
    # The limit is configurable (FEDI_REGISTRATIONS_PER_IP_PER_HOUR); five here.
    app = create_app(settings.with_changes(registrations_per_ip_per_hour=5))
    await app.state.db.upgrade()
    async with app.test_app():
        client = app.test_client()
        for number in range(6):
            response = await post_form(client, "/register", "/register", {
                "username": f"person{number}", "email": f"p{number}@example.org",
                "password": PASSWORD, "password_confirm": PASSWORD,
            })
            await client.post("/logout", form={"csrf_token": await csrf_from(client, "/")})
            assert response.status_code == (302 if number < 5 else 429), number
