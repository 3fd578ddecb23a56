"""A moved account is read-only through the Mastodon API; a suspended one's tokens stop.

The same rules as the web pages (``fedi.http.web.move_pages``) and C2S: after a move every
change is refused (403, as the web answers), reading goes on, the push subscription may
still be changed; a suspension makes every token answer 401 until it is lifted.
"""

from __future__ import annotations

from typing import Any

import pytest

from fedi.domain.account_suspension import suspend_account, unsuspend_account
from fedi.state import FediApp
from models import Actor
from tests.mastodon_api.oauth_helpers import (
    REDIRECT,
    authorize,
    bearer,
    oauth_token,
    register_app,
)
from tests.mastodon_api.status_helpers import person_token
from tests.tribe_helpers import actor_named

pytestmark = pytest.mark.db


async def test_a_moved_account_can_read_but_not_change(app: FediApp, client: Any) -> None:
    _, token = await person_token(app, "anna")
    oauth = await oauth_token(client, "anna", scope="read write follow")
    pusher = await _push_token(client, "anna")  # (a moved account can no longer consent)
    before = await client.post("/api/v1/statuses", form={"status": "Nog hier"},
                               headers=bearer(token))
    assert before.status_code == 200
    async with app.state.db.session() as db:
        person: Actor = await actor_named(db, "anna")
        person.moved_to = "https://elsewhere.example/users/anna"
    for used in (token, oauth):
        refused = await client.post("/api/v1/statuses", form={"status": "Nog steeds"},
                                    headers=bearer(used))
        assert refused.status_code == 403
        assert "moved" in (await refused.get_json())["error"]
        profile = await client.patch("/api/v1/accounts/update_credentials",
                                     form={"display_name": "Anna"}, headers=bearer(used))
        assert profile.status_code == 403
        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(used))
        assert me.status_code == 200
    # The push subscription stays the person's own to change (as /push/ on the web).
    gone = await client.delete("/api/v1/push/subscription", headers=bearer(pusher))
    assert gone.status_code == 200 and await gone.get_json() == {}


async def _push_token(client: Any, name: str) -> str:
    """A token of ``name`` with the ``push`` scope (full OAuth flow)."""
    registered = await register_app(client, scopes="read push")
    code = await authorize(client, registered, name, scope="read push")
    response = await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
    })
    client.cookie_jar.clear()
    return str((await response.get_json())["access_token"])


async def test_a_suspended_accounts_tokens_stop_working(app: FediApp, client: Any) -> None:
    _, token = await person_token(app, "bert")
    oauth = await oauth_token(client, "bert", scope="read write")
    async with app.state.db.session() as db:
        await suspend_account(db, app.state.settings, "bert", acting=None)
    for used in (token, oauth):
        for method, path in (("GET", "/api/v1/accounts/verify_credentials"),
                             ("POST", "/api/v1/statuses")):
            response = await client.open(path, method=method, headers=bearer(used),
                                         form={"status": "Hallo"} if method == "POST" else None)
            assert response.status_code == 401, (used, path)
    async with app.state.db.session() as db:
        await unsuspend_account(db, app.state.settings, "bert", acting=None)
    for used in (token, oauth):
        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(used))
        assert me.status_code == 200


async def test_a_suspended_accounts_posts_leave_the_timelines_until_lifted(
    app: FediApp, client: Any,
) -> None:
    """The public timeline and the account's statuses hide what a suspended person posted
    (as Mastodon does), and show it again when the suspension is lifted."""
    _, writer = await person_token(app, "cor")
    _, reader = await person_token(app, "dirk")
    posted = await client.post("/api/v1/statuses", form={"status": "Zonnig plein vandaag"},
                               headers=bearer(writer))
    assert posted.status_code == 200
    status_id = (await posted.get_json())["id"]
    account_id = (await posted.get_json())["account"]["id"]

    async def listed() -> dict[str, bool]:
        public = await client.get("/api/v1/timelines/public", headers=bearer(reader))
        own = await client.get(f"/api/v1/accounts/{account_id}/statuses",
                               headers=bearer(reader))
        return {
            "public": any(s["id"] == status_id for s in await public.get_json()),
            "account": own.status_code == 200
            and any(s["id"] == status_id for s in await own.get_json()),
        }

    assert await listed() == {"public": True, "account": True}
    async with app.state.db.session() as db:
        await suspend_account(db, app.state.settings, "cor", acting=None)
    assert await listed() == {"public": False, "account": False}
    async with app.state.db.session() as db:
        await unsuspend_account(db, app.state.settings, "cor", acting=None)
    assert await listed() == {"public": True, "account": True}
