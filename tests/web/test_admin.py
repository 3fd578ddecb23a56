"""The admin pages: who may see them, and what the buttons do."""

from __future__ import annotations

import re
from typing import Any

from account_helpers import csrf_from, login, make_user, post_form, text

from fedi.domain import accounts
from fedi.state import FediApp


async def test_only_admins_get_in(client: Any, app: FediApp) -> None:
    response = await client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/admin/"
    await make_user(app, "alice")
    await login(client, "alice")
    assert (await client.get("/admin/")).status_code == 403
    assert (await client.get("/admin/users")).status_code == 403
    token = await csrf_from(client, "/account")
    forbidden = await client.post("/admin/registration", form={"csrf_token": token, "mode": "open"})
    assert forbidden.status_code == 403


async def test_registration_mode_and_accounts(client: Any, app: FediApp) -> None:
    await make_user(app, "boss", is_admin=True)
    await make_user(app, "alice")
    await login(client, "boss")
    overview = await text(await client.get("/admin/"))
    assert "Beheer" in overview and 'value="open" checked' in overview
    await post_form(client, "/admin/", "/admin/registration", {"mode": "approval"})
    async with app.state.db.session() as db:
        assert await accounts.get_registration_mode(db, app.state.settings) == "approval"

    # The last admin cannot take away their own role.
    await post_form(client, "/admin/users", "/admin/users/boss/unadmin", {"back": "users"})
    page = await text(await client.get("/admin/users"))
    assert "laatste beheerder" in page

    # Disabling someone ends their sessions.
    alice = app.test_client()
    await login(alice, "alice")
    assert (await alice.get("/account")).status_code == 200
    await post_form(client, "/admin/users", "/admin/users/alice/disable", {"back": "users"})
    assert (await alice.get("/account")).status_code == 302
    assert (await login(alice, "alice")).status_code == 403
    await post_form(client, "/admin/users", "/admin/users/alice/enable", {"back": "users"})
    await post_form(client, "/admin/users", "/admin/users/alice/admin", {"back": "users"})
    async with app.state.db.session() as db:
        user = await accounts.get_user(db, "alice")
    assert user.is_admin and not user.disabled

    reset = await post_form(client, "/admin/users", "/admin/users/alice/reset-link", {})
    link = re.search(r'value="http://localhost:8000(/reset/[^"]+)"', await text(reset))
    assert link and reset.headers["Cache-Control"] == "no-store"
    assert (await alice.get(link.group(1))).status_code == 200


async def test_reject_a_pending_registration(client: Any, app: FediApp) -> None:
    await make_user(app, "boss", is_admin=True)
    await make_user(app, "spammer", approved=False, reason="buy things")
    await login(client, "boss")
    assert "buy things" in await text(await client.get("/admin/"))
    await post_form(client, "/admin/", "/admin/users/spammer/reject", {})
    async with app.state.db.session() as db:
        assert await accounts.find_user(db, "spammer") is None
