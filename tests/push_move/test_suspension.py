"""Suspending an account federates, and lifting it does too (issue 12), between two instances.

An admin of A suspends alice in the admin pages: she cannot log in, her profile page answers
410 Gone, her actor document stays (with its key) and says ``suspended: true`` as
Mastodon's does, and B, where bob follows her, learns it from the ``Update{Person}`` and
marks its copy suspended. Nothing is deleted: bob's follow stays. Lifting the suspension
sends ``Update{Person}`` again and B shows her again.
"""

from __future__ import annotations

from typing import Any

from harness import drain
from sqlalchemy import func, select

from fedi.domain import follows
from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.state import FediApp
from models import Actor, AuditEntry, Follow, OutboxActivity
from tests.tribe_helpers import PASSWORD, csrf_of, login, make_person

ALICE = "http://localhost:8001/users/alice"


async def _copy_on(app: FediApp) -> Actor:
    async with app.state.db.session() as db:
        copy = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert copy is not None
        return copy


async def _admin_post(client: Any, path: str) -> None:
    token = await csrf_of(client, "/admin/users")
    response = await client.post(path, form={"csrf_token": token, "back": "users"})
    assert response.status_code in (302, 303)


async def _login_refused(app: FediApp) -> bool:
    client = app.test_client()
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login", form={"login": "alice", "password": PASSWORD, "csrf_token": token}
    )
    return response.status_code == 403  # the password was right; the account is off


async def test_suspension_reaches_the_other_server_and_lifting_it_too(two_apps: Any) -> None:
    a, b = two_apps
    await make_person(a, "alice")
    await make_person(a, "boss", is_admin=True)
    await make_person(b, "bob")
    async with b.state.db.session() as db:
        bob = await db.scalar(select(Actor).where(Actor.username == "bob"))
        assert bob is not None
        await follows.follow(db, b.state, bob, await get_or_fetch_actor(b.state, db, ALICE))
    await drain(a, b)
    assert (await _copy_on(b)).suspended_at is None

    admin = a.test_client()
    await login(admin, "boss")
    page = await (await admin.get("/admin/users")).get_data(as_text=True)
    assert "/admin/users/alice/suspend" in page
    await _admin_post(admin, "/admin/users/alice/suspend")
    async with a.state.db.session() as db:
        update = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.type == "Update")
            .order_by(OutboxActivity.id.desc())
        )
        assert update is not None and update.payload["object"]["suspended"] is True
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "user.suspend"))
        assert entry is not None and entry.target_label == "alice"
    assert "Account geschorst" in await (await admin.get("/admin/audit")).get_data(as_text=True)

    # Here: no login, the profile is gone (410), the actor document stays, flagged.
    assert await _login_refused(a)
    assert (await a.test_client().get("/@alice")).status_code == 410
    doc = await a.test_client().get("/users/alice", headers={"Accept": "application/activity+json"})
    assert doc.status_code == 200
    body = await doc.get_json()
    assert body["suspended"] is True and body["publicKey"]["publicKeyPem"]

    await drain(a, b)
    copy = await _copy_on(b)
    assert copy.suspended_at is not None and copy.gone_at is None
    # B's Mastodon API shows her as suspended, as Mastodon shows such an account.
    entity = await (await b.test_client().get(f"/api/v1/accounts/{copy.id}")).get_json()
    assert entity["suspended"] is True
    async with b.state.db.session() as db:  # reversible: nothing was deleted
        assert await db.scalar(select(func.count(Follow.id)).where(
            Follow.followed_id == copy.id, Follow.accepted.is_(True))) == 1

    await _admin_post(admin, "/admin/users/alice/unsuspend")
    assert not await _login_refused(a)
    assert (await a.test_client().get("/@alice")).status_code == 200
    await drain(a, b)
    copy = await _copy_on(b)
    assert copy.suspended_at is None
    entity = await (await b.test_client().get(f"/api/v1/accounts/{copy.id}")).get_json()
    assert "suspended" not in entity
