"""Web Push end to end, with a push service written here on loopback (issue 12).

A browser is played by this test: it makes a P-256 key pair and an auth secret as
``pushManager.subscribe`` does, reads the instance's VAPID key at
``/push/vapid-public-key`` and posts the subscription JSON to ``/push/subscribe``. When a
notification for the person is made, the push worker sends an ``aes128gcm`` encrypted POST
to the endpoint, a real HTTP server on 127.0.0.1; the test decrypts it with the browser's
private key and checks the payload (in the person's language) and the VAPID JWT (ES256,
signed by the key the instance published, for the push service's origin). A push service
that answers 410 makes the subscription go; a kind switched off is not pushed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from fedi.domain import notifications, push
from fedi.state import FediApp
from fedi.workers.push import PushWorker
from models import PushMessage, PushSubscription, utcnow
from tests.push_move.push_helpers import (
    Browser,
    PushService,
    run_push_worker_until,
    verify_vapid,
)
from tests.tribe_helpers import actor_named, csrf_of, login, make_person


async def _subscribe(app: FediApp, name: str, browser: Browser) -> tuple[Any, str]:
    """Log ``name`` in, read the VAPID key and post the subscription; (client, key)."""
    await make_person(app, name)
    client = app.test_client()
    await login(client, name)
    key_response = await client.get("/push/vapid-public-key")
    assert key_response.status_code == 200
    public_key = (await key_response.get_json())["publicKey"]
    token = await csrf_of(client, "/notifications")
    refused = await client.post("/push/subscribe", json=browser.subscription_json())
    assert refused.status_code == 400  # no CSRF token: refused
    response = await client.post(
        "/push/subscribe", json=browser.subscription_json(), headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return client, public_key


async def _notify(app: FediApp, name: str, kind: str = "mention") -> int:
    async with app.state.db.session() as db:
        person = await actor_named(db, name)
        made = await notifications.notify(
            db, [person], kind, payload={"initiative": "Bankjes"}
        )
        return made[0].id


async def test_a_notification_is_pushed_encrypted_and_signed(
    app: FediApp, push_service: PushService
) -> None:
    browser = Browser(push_service.endpoint("anna-laptop"))
    client, public_key = await _subscribe(app, "anna", browser)
    # The key is made once and kept: asked again, the same.
    again = await (await client.get("/push/vapid-public-key")).get_json()
    assert again["publicKey"] == public_key

    note_id = await _notify(app, "anna")
    await run_push_worker_until(app, lambda: push_service.received, "the push to arrive")

    path, headers, body = push_service.received[0]
    assert path == "/push/anna-laptop"
    assert headers["Content-Encoding"] == "aes128gcm"
    assert int(headers["TTL"]) > 0
    assert body[:16] != b"" and b"Bankjes" not in body and b"mention" not in body
    payload = browser.decrypt(body)
    assert payload["kind"] == "mention" and payload["notification"] == note_id
    assert payload["title"] == app.state.settings.instance_name
    assert payload["body"] == "Iemand heeft je genoemd."  # the person's language: Dutch
    assert payload["url"] == app.state.settings.url("/notifications")
    verify_vapid(headers["Authorization"], public_key, f"http://127.0.0.1:{push_service.port}")

    async with app.state.db.session() as db:
        row = await db.scalar(select(PushMessage))
        assert row is not None and row.state == "sent" and row.attempts == 1
    # Nothing is pushed twice.
    await PushWorker(app.state).run_once()
    assert len(push_service.received) == 1
    # Done pushes are forgotten after a day (their notification is no longer fresh).
    async with app.state.db.session() as db:
        await push.prune(db, now=utcnow() + timedelta(hours=12))
        assert await db.scalar(select(func.count(PushMessage.id))) == 1
        await push.prune(db, now=utcnow() + timedelta(days=2))
        assert await db.scalar(select(func.count(PushMessage.id))) == 0


async def test_410_from_the_push_service_removes_the_subscription(
    app: FediApp, push_service: PushService
) -> None:
    browser = Browser(push_service.endpoint("old-phone"))
    await _subscribe(app, "bert", browser)
    push_service.status = 410  # the browser unsubscribed behind our back
    await _notify(app, "bert")
    await run_push_worker_until(app, lambda: push_service.received, "the push attempt")

    async def remaining() -> int:
        async with app.state.db.session() as db:
            return int(await db.scalar(select(func.count(PushSubscription.id))) or 0)

    deadline = time.monotonic() + 10
    while await remaining() and time.monotonic() < deadline:
        await PushWorker(app.state).run_once()
    assert await remaining() == 0
    async with app.state.db.session() as db:
        assert await db.scalar(select(func.count(PushMessage.id))) == 0


async def test_a_push_service_error_is_retried_and_a_kind_switched_off_is_not_pushed(
    app: FediApp, push_service: PushService
) -> None:
    browser = Browser(push_service.endpoint("tablet"))
    client, _key = await _subscribe(app, "cas", browser)
    push_service.status = 503
    await _notify(app, "cas", "comment")
    await run_push_worker_until(app, lambda: push_service.received, "the first try")
    async with app.state.db.session() as db:
        row = await db.scalar(select(PushMessage))
        assert row is not None and row.state == "pending" and row.attempts == 1
        assert row.last_error == "HTTP 503" and row.next_try_at > row.created_at
        row.next_try_at = row.created_at  # the backoff has passed
    push_service.status = 201
    await run_push_worker_until(app, lambda: len(push_service.received) == 2, "the retry")
    assert browser.decrypt(push_service.received[1][2])["kind"] == "comment"

    # Switched off for mentions on the settings page: a mention is not pushed.
    token = await csrf_of(client, "/settings/push")
    form = {"csrf_token": token, "enabled": "on"}
    form.update({f"{kind}-push": "on" for kind in notifications.KINDS if kind != "mention"})
    saved = await client.post("/settings/push", form=form)
    assert saved.status_code in (302, 303)
    async with app.state.db.session() as db:
        choice = await push.choice_of(db, (await actor_named(db, "cas")).id)
        assert choice.disabled_kinds == {"mention"} and choice.enabled
    await _notify(app, "cas", "mention")
    await _notify(app, "cas", "message")
    await run_push_worker_until(app, lambda: len(push_service.received) == 3, "the message push")
    await PushWorker(app.state).run_once()
    assert len(push_service.received) == 3
    assert browser.decrypt(push_service.received[2][2])["kind"] == "message"
    async with app.state.db.session() as db:
        states = sorted(
            (await db.scalars(select(PushMessage.state))).all()
        )
        assert states == ["sent", "sent", "skipped"]

    # Unsubscribing forgets this browser.
    gone = await client.post("/push/unsubscribe", json={"endpoint": browser.endpoint},
                             headers={"X-CSRF-Token": token})
    assert (await gone.get_json()) == {"unsubscribed": True}


async def test_the_settings_page_loads_the_script_without_inline_code(app: FediApp) -> None:
    await make_person(app, "dirk")
    client = app.test_client()
    await login(client, "dirk")
    page = await client.get("/settings/push")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert "/static/js/push.js" in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = await client.get("/static/js/push.js")
    assert script.status_code == 200
    bad = await client.post("/push/subscribe", json={"endpoint": "ftp://x", "keys": {}},
                            headers={"X-CSRF-Token": await csrf_of(client, "/settings/push")})
    assert bad.status_code == 400


async def test_a_deleted_or_suspended_account_gets_no_pushes(
    app: FediApp, push_service: PushService
) -> None:
    from fedi.domain.account_deletion import delete_account
    from fedi.domain.account_suspension import suspend_account, unsuspend_account
    from models import User
    from tests.tribe_helpers import PASSWORD

    await _subscribe(app, "eva", Browser(push_service.endpoint("eva")))
    async with app.state.db.session() as db:
        await suspend_account(db, app.state.settings, "eva", acting=None)
    await _notify(app, "eva")
    await PushWorker(app.state).run_once()
    assert push_service.received == []
    async with app.state.db.session() as db:
        await unsuspend_account(db, app.state.settings, "eva", acting=None)
        user = await db.scalar(select(User).where(User.email == "eva@example.org"))
        assert user is not None
        await delete_account(db, app.state.settings, user, PASSWORD)
    async with app.state.db.session() as db:
        assert await db.scalar(select(func.count(PushSubscription.id))) == 0


async def test_a_push_endpoint_on_a_private_address_is_never_contacted(
    settings: Any, push_service: PushService
) -> None:
    """The endpoint comes from the browser, so it is checked like any URL from outside: on
    an instance that does not allow private addresses, an endpoint on loopback is refused
    when the worker connects (not retried), and the subscription goes."""
    from fedi.app import create_app

    strict = create_app(settings.with_changes(allow_private_network=False))
    await strict.state.db.upgrade()
    async with strict.test_app():
        endpoint = push_service.endpoint("phone").replace("http://", "https://", 1)
        await _subscribe(strict, "piet", Browser(endpoint))
        await _notify(strict, "piet")

        async def remaining() -> int:
            async with strict.state.db.session() as db:
                return int(await db.scalar(select(func.count(PushSubscription.id))) or 0)

        deadline = time.monotonic() + 10
        while await remaining() and time.monotonic() < deadline:
            await PushWorker(strict.state).run_once()
        assert await remaining() == 0
        assert not push_service.received
