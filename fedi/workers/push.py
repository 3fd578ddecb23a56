"""The push worker: queues pushes for new notifications and sends them to push services.

Each run first turns fresh notifications into ``PushMessage`` rows
(:func:`fedi.domain.push.queue_new_notifications`), then claims due rows like the delivery
and mail queues do (a lease, so concurrent workers never send one twice) and sends each,
encrypted for the browser (RFC 8291, ``aes128gcm``) and signed with the instance's VAPID key
(RFC 8292), through the instance's outgoing HTTP client (the same address policy as
deliveries). The push service's answer decides:

* 2xx: sent.
* 404 or 410: the browser dropped the subscription (RFC 8030 section 7.3); it is deleted,
  with its queued pushes.
* 429 or 5xx or no answer: retried later with the delivery backoff, for at most a day (a
  push about something a day old helps nobody).
* any other 4xx (a bad key, too large): failed for good, with the reason.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, update

from activitypub.urlpolicy import UrlRefused
from fedi.domain import push
from fedi.state import AppState
from fedi.workers.claims import DEFAULT_LEASE, claim_due
from fedi.workers.delivery import backoff
from models import PushMessage, PushSubscription, utcnow

__all__ = ["PushWorker", "encrypt_for", "encrypt_legacy_for", "vapid_headers"]

log = logging.getLogger(__name__)

BATCH = 20
GIVE_UP_AFTER = timedelta(days=1)
# How long a push service keeps an undelivered message (seconds, the TTL header).
TTL_SECONDS = 24 * 3600
# The VAPID token lives 12 hours (RFC 8292 allows at most 24).
TOKEN_SECONDS = 12 * 3600
# Done pushes are forgotten once a day has passed; looked at once an hour.
PRUNE_EVERY_SECONDS = 3600


@dataclass(frozen=True)
class _Outcome:
    sent: bool
    final: bool
    gone: bool = False
    error: str | None = None
    retry_after: float | None = None


def encrypt_for(subscription: PushSubscription, body: bytes) -> bytes:
    """``body`` encrypted for the browser of ``subscription`` (``aes128gcm``, RFC 8291).

    A fresh sender key and salt per message; the sender's public key travels in the
    ``aes128gcm`` header, so no ``Crypto-Key`` header is needed.
    """
    sender = ec.generate_private_key(ec.SECP256R1())
    receiver = push._b64url_decode(subscription.p256dh)
    auth = push._b64url_decode(subscription.auth)
    # Without a keyid, http_ece puts the sender's public key in the header (RFC 8291 s. 4).
    encrypted: bytes = http_ece.encrypt(
        body, salt=os.urandom(16), private_key=sender, dh=receiver, auth_secret=auth,
        version="aes128gcm",
    )
    return encrypted


def encrypt_legacy_for(
    subscription: PushSubscription, body: bytes, vapid_public_key: str
) -> tuple[bytes, dict[str, str]]:
    """``body`` encrypted with the ``aesgcm`` draft (draft-ietf-webpush-encryption-04) and
    the headers that carry its salt and sender key.

    Mastodon sent this to API apps until 4.4 made ``aes128gcm`` opt-in (``standard``), and
    Mastodon.py's ``push_subscription_decrypt_push`` still expects it: the salt in
    ``Encryption``, the sender's key as ``dh`` and the VAPID key as ``p256ecdsa`` in
    ``Crypto-Key``.
    """
    sender = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    encrypted: bytes = http_ece.encrypt(
        body, salt=salt, private_key=sender,
        dh=push._b64url_decode(subscription.p256dh),
        auth_secret=push._b64url_decode(subscription.auth), version="aesgcm",
    )
    dh = push._b64url(sender.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    ))
    return encrypted, {
        "Encryption": f"salt={push._b64url(salt)}",
        "Crypto-Key": f"dh={dh};p256ecdsa={vapid_public_key}",
    }


def vapid_headers(vapid: Any, endpoint: str, subject: str) -> dict[str, str]:
    """The ``Authorization: vapid t=...,k=...`` header for ``endpoint``'s push service."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + TOKEN_SECONDS,
        "sub": subject,
    }
    headers: dict[str, str] = vapid.sign(claims)
    return headers


class PushWorker:
    """Queues and sends pushes; ``run_once`` handles one batch."""

    def __init__(self, state: AppState, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """Prepare a worker for ``state``."""
        self.state = state
        self.lease = lease
        self._vapid: Any = None
        self._pruned_at: float = 0.0

    async def run_once(self) -> int:
        """Queue pushes for new notifications, then send one batch; how many were handled."""
        settings = self.state.settings
        translate = self.state.translator.gettext
        now = utcnow()
        async with self.state.db.session() as db:
            if self._vapid is None:
                # On the worker's first run: the key pair exists from the first start on.
                self._vapid = await push.load_vapid(db)
            queued = await push.queue_new_notifications(db, settings, translate, now=now)
            if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
                self._pruned_at = time.monotonic()
                await push.prune(db, now=now)
        async with self.state.db.session() as db:
            ids = await claim_due(db, PushMessage, now=now, limit=BATCH, lease=self.lease)
        if not ids:
            return queued
        async with self.state.db.session() as db:
            work: list[tuple[PushMessage, PushSubscription]] = []
            for message_id in ids:
                message = await db.get(PushMessage, message_id)
                if message is None:
                    continue
                subscription = await db.get(PushSubscription, message.subscription_id)
                if subscription is not None:
                    work.append((message, subscription))
            db.expunge_all()
        # Network I/O only here, with no transaction open.
        for message, subscription in work:
            outcome = await self._send(message, subscription)
            await self._record(message, subscription, outcome)
        return queued + len(work)

    def _subject(self) -> str:
        # RFC 8292: a mailto: or https: contact for the push service's operator.
        base = self.state.settings.base_url
        return base if base.startswith("https://") else f"mailto:admin@{self.state.settings.host}"

    async def _send(self, message: PushMessage, subscription: PushSubscription) -> _Outcome:
        body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
        headers = {
            **vapid_headers(self._vapid, subscription.endpoint, self._subject()),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_SECONDS),
            "Urgency": "normal",
        }
        if subscription.encoding == "aesgcm":  # a Mastodon API app that wants the draft
            content, extra = encrypt_legacy_for(
                subscription, body, push.vapid_public_key(self._vapid)
            )
            headers.update(extra, **{"Content-Encoding": "aesgcm"})
        else:
            content = encrypt_for(subscription, body)
        http = self.state.http
        if http is None:
            return _Outcome(False, False, error="no HTTP client")
        try:
            response = await http.post(subscription.endpoint, content=content, headers=headers)
        except UrlRefused as exc:
            # A private or otherwise refused address can never be delivered to (the push
            # endpoint comes from the browser, so it is as untrusted as any URL): the
            # subscription goes, nothing is retried.
            return _Outcome(False, True, gone=True, error=f"URL refused: {exc}")
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return _Outcome(False, False, error=f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return _Outcome(True, True)
        if status in (404, 410):
            return _Outcome(False, True, gone=True, error=f"HTTP {status}")
        if status == 429 or status >= 500:
            retry = response.headers.get("Retry-After", "")
            return _Outcome(False, False, error=f"HTTP {status}",
                            retry_after=float(retry) if retry.isdigit() else None)
        return _Outcome(False, True, error=f"HTTP {status}: {response.text[:200]}")

    async def _record(
        self, message: PushMessage, subscription: PushSubscription, outcome: _Outcome
    ) -> None:
        now = utcnow()
        async with self.state.db.session() as db:
            if outcome.gone:
                log.info("push subscription %s is gone (%s): removed", subscription.id,
                         outcome.error)
                await db.execute(
                    delete(PushMessage).where(PushMessage.subscription_id == subscription.id)
                )
                await db.execute(
                    delete(PushSubscription).where(PushSubscription.id == subscription.id)
                )
                return
            attempts = message.attempts + 1
            values: dict[str, object] = {"attempts": attempts, "claimed_until": None}
            if outcome.sent:
                values.update(state="sent", sent_at=now, last_error=None)
            elif outcome.final:
                values.update(state="failed", last_error=outcome.error)
            elif now - message.created_at >= GIVE_UP_AFTER:
                values.update(state="failed", last_error=f"gave up: {outcome.error}")
            else:
                values.update(next_try_at=now + backoff(attempts, outcome.retry_after),
                              last_error=outcome.error)
            await db.execute(
                update(PushMessage)
                .where(PushMessage.id == message.id, PushMessage.state == "pending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
