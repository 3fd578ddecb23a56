"""Mastodon's Web Push API (``/api/v1/push/subscription``), end to end.

An app gets a token with the ``push`` scope through the real OAuth flow, makes its keys
with Mastodon.py's ``push_subscription_generate_keys`` and subscribes an endpoint on a
push service played by a real HTTP server on loopback. When someone follows the person, the
push worker sends the push there; the test decrypts it with Mastodon.py's
``push_subscription_decrypt_push`` (the ``aesgcm`` draft Mastodon.py expects) or, for an
app that asked for ``standard``, with ``http_ece`` (RFC 8291 ``aes128gcm``), and checks
Mastodon's payload. Revoking the token removes the subscription.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import http_ece
import mastodon
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from fedi.domain import follows
from fedi.state import FediApp
from fedi.workers.push import PushWorker
from models import PushSubscription
from tests.mastodon_api.oauth_helpers import REDIRECT, authorize, bearer, register_app
from tests.push_move.push_helpers import (
    PushService,
    run_push_worker_until,
    running_push_service,
)
from tests.tribe_helpers import actor_named, make_person

pytestmark = pytest.mark.db

SCOPES = "read write follow push"


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A real HTTP server on 127.0.0.1 standing in for an app's push relay."""
    yield from running_push_service()


def _crypto() -> Any:
    """Mastodon.py, only for its push crypto helpers (no request is made)."""
    return mastodon.Mastodon(api_base_url="http://127.0.0.1", version_check_mode="none")


async def _token(client: Any, name: str, scope: str = SCOPES) -> tuple[str, dict[str, Any]]:
    """The person's token for a new app with ``scope`` (full OAuth flow); (token, app)."""
    registered = await register_app(client, scopes=scope)
    code = await authorize(client, registered, name, scope=scope)
    response = await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
    })
    assert response.status_code == 200, await response.get_data(as_text=True)
    client.cookie_jar.clear()
    return str((await response.get_json())["access_token"]), registered


def _subscription_form(endpoint: str, public: dict[str, Any], **extra: str) -> dict[str, str]:
    """The form Mastodon.py's ``push_subscription_set`` sends (standard base64 keys)."""
    return {
        "subscription[endpoint]": endpoint,
        "subscription[keys][p256dh]": base64.b64encode(public["pubkey"]).decode(),
        "subscription[keys][auth]": base64.b64encode(public["auth"]).decode(),
        "policy": "all",
        **extra,
    }


async def test_subscription_crud_scopes_and_the_instance_key(app: FediApp, client: Any) -> None:
    await make_person(app, "anna")
    token, registered = await _token(client, "anna")
    instance = await (await client.get("/api/v2/instance")).get_json()
    server_key = instance["configuration"]["vapid"]["public_key"]
    # The same key the browsers of the web pages get, and the apps at registration.
    web_key = (await (await client.get("/push/vapid-public-key")).get_json())["publicKey"]
    assert server_key and server_key == web_key
    assert registered["vapid_key"] == server_key

    path = "/api/v1/push/subscription"
    assert (await client.get(path, headers=bearer(token))).status_code == 404
    assert (await client.get(path)).status_code == 401
    _, public = _crypto().push_subscription_generate_keys()
    form = _subscription_form("https://push.example/app/1", public, **{
        "data[alerts][follow]": "true", "data[alerts][mention]": "1",
    })
    made = await client.post(path, form=form, headers=bearer(token))
    assert made.status_code == 200, await made.get_data(as_text=True)
    entity = await made.get_json()
    assert entity["endpoint"] == "https://push.example/app/1"
    assert entity["server_key"] == server_key and entity["policy"] == "all"
    assert isinstance(entity["id"], str) and entity["standard"] is False
    assert entity["alerts"]["follow"] is True and entity["alerts"]["mention"] is True
    assert entity["alerts"]["favourite"] is False and entity["alerts"]["reblog"] is False
    assert await (await client.get(path, headers=bearer(token))).get_json() == entity

    changed = await client.put(path, json={"data": {"alerts": {"favourite": True},
                                                    "policy": "followed"}},
                               headers=bearer(token))
    assert changed.status_code == 200
    entity = await changed.get_json()
    assert entity["alerts"]["favourite"] is True and entity["alerts"]["follow"] is True
    assert entity["policy"] == "followed"
    bad = await client.put(path, form={"policy": "everyone"}, headers=bearer(token))
    assert bad.status_code == 422
    broken = await client.post(path, form={**form, "subscription[keys][auth]": "abc"},
                               headers=bearer(token))
    assert broken.status_code == 422

    # A token without the push scope may not touch it; an fpt- token has no app to tie to.
    reader, _ = await _token(client, "anna", scope="read")
    assert (await client.get(path, headers=bearer(reader))).status_code == 403
    # Subscribing again replaces the token's subscription (one per token, as on Mastodon).
    again = await client.post(
        path, form=_subscription_form("https://push.example/app/2", public),
        headers=bearer(token),
    )
    assert (await again.get_json())["alerts"]["follow"] is False
    async with app.state.db.session() as db:
        endpoints = list(await db.scalars(select(PushSubscription.endpoint)))
    assert endpoints == ["https://push.example/app/2"]

    deleted = await client.delete(path, headers=bearer(token))
    assert deleted.status_code == 200 and await deleted.get_json() == {}
    assert (await client.get(path, headers=bearer(token))).status_code == 404


async def test_a_follow_is_pushed_to_the_app_in_mastodons_format(
    app: FediApp, client: Any, push_service: PushService
) -> None:
    await make_person(app, "anna")
    await make_person(app, "bob")
    token, registered = await _token(client, "anna")
    crypto = _crypto()
    private, public = crypto.push_subscription_generate_keys()
    made = await client.post(
        "/api/v1/push/subscription",
        form=_subscription_form(push_service.endpoint("anna-phone"), public, **{
            "data[alerts][follow]": "true", "data[alerts][favourite]": "false",
        }),
        headers=bearer(token),
    )
    assert made.status_code == 200, await made.get_data(as_text=True)
    server_key = (await made.get_json())["server_key"]

    async with app.state.db.session() as db:
        await follows.follow(db, app.state, await actor_named(db, "bob"),
                             await actor_named(db, "anna"))
    await run_push_worker_until(app, lambda: push_service.received, "the push to arrive")
    path, headers, body = push_service.received[0]
    assert path == "/push/anna-phone"
    assert headers["Content-Encoding"] == "aesgcm"
    assert b"follow" not in body  # encrypted
    payload = crypto.push_subscription_decrypt_push(
        body, private, headers["Encryption"], headers["Crypto-Key"]
    )
    assert f"p256ecdsa={server_key}" in headers["Crypto-Key"]
    assert set(payload) >= {"access_token", "preferred_locale", "notification_id",
                            "notification_type", "icon", "title", "body"}
    assert payload["notification_type"] == "follow"
    assert payload["access_token"] == token
    # Mastodon's wording, in the person's language.
    assert payload["title"] == {"nl": "bob volgt je nu", "en": "bob followed you"}[
        payload["preferred_locale"]
    ]
    # The id is the one the app fetches the notification with.
    shown = await client.get(f"/api/v1/notifications/{payload['notification_id']}",
                             headers=bearer(token))
    assert shown.status_code == 200
    assert (await shown.get_json())["type"] == "follow"

    # An app asking for the standard encoding gets RFC 8291 aes128gcm.
    token2, _ = await _token(client, "anna")
    receiver = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import serialization

    raw = receiver.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = b"0123456789abcdef"
    made = await client.post("/api/v1/push/subscription", json={
        "subscription": {
            "endpoint": push_service.endpoint("anna-tablet"), "standard": True,
            "keys": {"p256dh": base64.urlsafe_b64encode(raw).decode().rstrip("="),
                     "auth": base64.urlsafe_b64encode(auth).decode().rstrip("=")},
        },
        "data": {"alerts": {"follow": True}, "policy": "all"},
    }, headers=bearer(token2))
    assert made.status_code == 200 and (await made.get_json())["standard"] is True
    await make_person(app, "carl")
    async with app.state.db.session() as db:
        await follows.follow(db, app.state, await actor_named(db, "carl"),
                             await actor_named(db, "anna"))
    await run_push_worker_until(
        app, lambda: any(p == "/push/anna-tablet" for p, _, _ in push_service.received),
        "the standard push",
    )
    _, headers, body = next(r for r in push_service.received if r[0] == "/push/anna-tablet")
    assert headers["Content-Encoding"] == "aes128gcm"
    plain = http_ece.decrypt(body, private_key=receiver, auth_secret=auth, version="aes128gcm")
    standard = json.loads(plain)
    assert standard["notification_type"] == "follow" and "carl" in standard["title"]
    assert standard["access_token"] == token2

    # Revoking the token takes its subscription with it.
    revoked = await client.post("/oauth/revoke", form={
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
        "token": token,
    })
    assert revoked.status_code == 200
    async with app.state.db.session() as db:
        endpoints = list(await db.scalars(select(PushSubscription.endpoint)))
    assert endpoints == [push_service.endpoint("anna-tablet")]


async def test_alerts_switched_off_are_not_pushed(
    app: FediApp, client: Any, push_service: PushService
) -> None:
    await make_person(app, "anna")
    await make_person(app, "bob")
    token, _ = await _token(client, "anna")
    _, public = _crypto().push_subscription_generate_keys()
    made = await client.post(
        "/api/v1/push/subscription",
        form=_subscription_form(push_service.endpoint("quiet"), public, **{
            "data[alerts][mention]": "true",  # follow stays off
        }),
        headers=bearer(token),
    )
    assert made.status_code == 200
    async with app.state.db.session() as db:
        await follows.follow(db, app.state, await actor_named(db, "bob"),
                             await actor_named(db, "anna"))
    worker = PushWorker(app.state)
    for _ in range(3):
        await worker.run_once()
    assert push_service.received == []
