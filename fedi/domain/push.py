"""Web Push: browsers that people allowed to notify them, and the pushes queued for them.

The instance's VAPID key pair (RFC 8292) is generated the first time it is asked for and
kept in ``instance_settings`` (so a backup of the database keeps it, and every process of
the instance signs with the same key; browsers bind a subscription to the public key).

A notification does not call into this module: :func:`queue_new_notifications` (run by the
push worker) finds the notifications made since a subscription was taken that have no push
yet and writes one :class:`PushMessage` per subscription, so the notification services stay
unaware of push and a push is never lost to a crash between the two writes. A person can
switch the push channel off as a whole or per notification kind (``PushPreference``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.dbutil import insert_ignore
from fedi.domain import notifications, push_app
from fedi.domain.errors import ServiceError
from fedi.domain.events import subscribes
from fedi.domain.events_people import AccountDeleted
from fedi.domain.instance_settings import get_setting
from fedi.settings import Settings
from models import (
    Actor,
    InstanceSetting,
    Notification,
    PushMessage,
    PushPreference,
    PushSubscription,
    User,
    utcnow,
)

__all__ = [
    "KIND_TEXTS",
    "PushChoice",
    "choice_of",
    "forget_browsers",
    "load_vapid",
    "prune",
    "queue_new_notifications",
    "queue_test_push",
    "set_choice",
    "subscribe",
    "subscriptions_of",
    "unsubscribe",
    "vapid_public_key",
]

VAPID_KEY = "push_vapid_private_pem"
# Notifications older than this when first seen are not pushed (a push is about "now").
FRESH_FOR = timedelta(hours=1)
MAX_SUBSCRIPTIONS_PER_PERSON = 20

# The line shown in the push for each notification kind (translated per person); a kind
# added later by the notification services falls back to DEFAULT_TEXT.
KIND_TEXTS: dict[str, str] = {
    "mention": "Someone mentioned you.",
    "message": "A new message in an initiative you take part in.",
    "comment": "A new comment in an initiative you take part in.",
    "contribution_offered": "Someone offered a contribution.",
    "contribution_accepted": "Your contribution was accepted.",
    "contribution_rejected": "Your contribution was declined.",
    "partner_requested": "Someone wants to become a partner.",
    "meetup_reminder": "A meetup you take part in is tomorrow.",
    "meetup_cancelled": "A meetup you take part in was cancelled.",
}
DEFAULT_TEXT = "You have a new notification."
TEST_TEXT = "Push notifications work in this browser."


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def load_vapid(db: AsyncSession) -> Vapid02:
    """The instance's VAPID key, generated and stored on first use (race-safe)."""
    pem = await get_setting(db, VAPID_KEY, "")
    if not pem:
        fresh = Vapid02()
        fresh.generate_keys()
        # Two processes starting at once: the first insert wins, both read it back.
        await db.execute(
            insert_ignore(db, InstanceSetting, ["key"]),
            [{"key": VAPID_KEY, "value": fresh.private_pem().decode("ascii"),
              "updated_at": utcnow()}],
        )
        await db.flush()
        db.expire_all()
        pem = await get_setting(db, VAPID_KEY, "")
    return Vapid02.from_pem(pem.encode("ascii"))


def vapid_public_key(vapid: Vapid02) -> str:
    """The public key as the browser's ``applicationServerKey`` wants it (base64url, raw)."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


def _check_endpoint(settings: Settings, endpoint: str) -> str:
    parts = urlsplit(endpoint)
    allowed = ("https", "http") if settings.allow_private_network else ("https",)
    if parts.scheme not in allowed or not parts.hostname or len(endpoint) > 2048:
        raise ServiceError("This push subscription has no usable endpoint.", field="endpoint")
    return endpoint


def _check_key(value: Any, length: int, name: str) -> str:
    if not isinstance(value, str):
        raise ServiceError("This push subscription has no usable keys.", field=name)
    try:
        raw = _b64url_decode(value)
    except ValueError:
        raise ServiceError("This push subscription has no usable keys.", field=name) from None
    if len(raw) != length:
        raise ServiceError("This push subscription has no usable keys.", field=name)
    return value


async def subscribe(
    db: AsyncSession, settings: Settings, person: Actor, data: dict[str, Any]
) -> PushSubscription:
    """Store the browser's subscription (``PushSubscription.toJSON()``) for ``person``.

    The same endpoint again updates its keys (and owner: a shared browser changed hands).
    """
    endpoint = _check_endpoint(settings, str(data.get("endpoint") or ""))
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    assert isinstance(keys, dict)
    # p256dh: an uncompressed P-256 point (65 bytes); auth: 16 random bytes (RFC 8291).
    p256dh = _check_key(keys.get("p256dh"), 65, "p256dh")
    auth = _check_key(keys.get("auth"), 16, "auth")
    row = await db.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        count = len(await subscriptions_of(db, person))
        if count >= MAX_SUBSCRIPTIONS_PER_PERSON:
            raise ServiceError("Too many browsers receive your notifications already.")
        row = PushSubscription(actor_id=person.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
        db.add(row)
    else:
        row.actor_id, row.p256dh, row.auth = person.id, p256dh, auth
    await db.flush()
    return row


async def unsubscribe(db: AsyncSession, person: Actor, endpoint: str) -> bool:
    """Forget ``person``'s subscription at ``endpoint``; whether there was one."""
    result = await db.execute(
        delete(PushSubscription).where(
            PushSubscription.actor_id == person.id, PushSubscription.endpoint == endpoint
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def subscriptions_of(
    db: AsyncSession, person: Actor, *, browsers_only: bool = False
) -> list[PushSubscription]:
    """The browsers (and Mastodon API apps, unless ``browsers_only``) that receive
    ``person``'s pushes, oldest first."""
    query = select(PushSubscription).where(PushSubscription.actor_id == person.id)
    if browsers_only:
        query = query.where(PushSubscription.oauth_token_id.is_(None))
    rows = await db.scalars(query.order_by(PushSubscription.id))
    return list(rows)


@dataclass(frozen=True)
class PushChoice:
    """A person's push channel: on at all, and the kinds left out."""

    enabled: bool
    disabled_kinds: frozenset[str]

    def wants(self, kind: str) -> bool:
        """Whether a notification of ``kind`` is pushed."""
        return self.enabled and kind not in self.disabled_kinds


async def choice_of(db: AsyncSession, person_id: int) -> PushChoice:
    """The push channel of the person ``person_id`` (default: on for every kind)."""
    row = await db.get(PushPreference, person_id)
    if row is None:
        return PushChoice(True, frozenset())
    return PushChoice(row.enabled, frozenset(str(k) for k in row.disabled_kinds or ()))


async def set_choice(
    db: AsyncSession, person: Actor, *, enabled: bool, disabled_kinds: set[str] | None = None
) -> PushChoice:
    """Switch ``person``'s push channel on or off, and which kinds it leaves out."""
    row = await db.get(PushPreference, person.id)
    if row is None:
        row = PushPreference(actor_id=person.id)
        db.add(row)
    row.enabled = enabled
    known = set(notifications.KINDS)
    row.disabled_kinds = sorted(k for k in (disabled_kinds or set()) if k in known)
    await db.flush()
    return await choice_of(db, person.id)


Translate = Callable[[str, str], str]  # (locale, message) -> translated message


def _payload(
    settings: Settings, note: Notification | None, text: str, locale: str, translate: Translate
) -> dict[str, Any]:
    """What the service worker shows: title, body, the page to open, and what it is about."""
    payload: dict[str, Any] = {
        "title": settings.instance_name,
        "body": translate(locale, text),
        "url": settings.url("/notifications"),
    }
    if note is not None:
        payload.update(kind=note.kind, notification=note.id,
                       tag=f"notification-{note.id}")
    return payload


async def _locale_of(db: AsyncSession, settings: Settings, person_id: int) -> str:
    locale = await db.scalar(select(User.locale).where(User.actor_id == person_id))
    return locale or settings.default_locale


async def queue_new_notifications(
    db: AsyncSession, settings: Settings, translate: Translate, *, now: datetime | None = None,
    limit: int = 500,
) -> int:
    """Queue a push per subscription for each fresh notification that has none yet.

    Fresh: made after the subscription and within :data:`FRESH_FOR`. A kind the person
    switched off gets a ``skipped`` row, so it is looked at once only. Returns the number of
    rows written.
    """
    now = now or utcnow()
    already = select(PushMessage.id).where(
        PushMessage.notification_id == Notification.id,
        PushMessage.subscription_id == PushSubscription.id,
    )
    rows = (
        await db.execute(
            select(Notification, PushSubscription)
            .join(PushSubscription, PushSubscription.actor_id == Notification.recipient_id)
            .join(Actor, Actor.id == Notification.recipient_id)
            .where(
                # A suspended or deleted account is told nothing (it cannot log in).
                Actor.suspended_at.is_(None),
                Actor.gone_at.is_(None),
                Notification.created_at >= now - FRESH_FOR,
                Notification.created_at >= PushSubscription.created_at,
                ~already.exists(),
            )
            .order_by(Notification.id, PushSubscription.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return 0
    choices: dict[int, PushChoice] = {}
    locales: dict[int, str] = {}
    values: list[dict[str, Any]] = []
    for note, subscription in rows:
        person_id = note.recipient_id
        if person_id not in choices:
            choices[person_id] = await choice_of(db, person_id)
            locales[person_id] = await _locale_of(db, settings, person_id)
        text = KIND_TEXTS.get(note.kind, DEFAULT_TEXT)
        payload = _payload(settings, note, text, locales[person_id], translate)
        wanted = choices[person_id].wants(note.kind)
        if subscription.oauth_token_id is not None:
            # A Mastodon API app's subscription: its alerts and policy decide, and it gets
            # Mastodon's payload (fedi.domain.push_app).
            app_payload = await push_app.app_push(
                db, settings, subscription, note, locales[person_id], translate
            )
            payload, wanted = app_payload or {}, app_payload is not None
        values.append({
            "subscription_id": subscription.id,
            "notification_id": note.id,
            "payload": payload,
            "state": "pending" if wanted else "skipped",
            "attempts": 0,
            "next_try_at": now,
            "created_at": now,
        })
    await db.execute(
        insert_ignore(db, PushMessage, ["subscription_id", "notification_id"]), values
    )
    return len(values)


async def prune(db: AsyncSession, *, now: datetime | None = None) -> None:
    """Forget pushes that are done (sent, failed, skipped) and older than a day.

    Safe for the queueing above: their notifications are no longer fresh, so they are never
    queued again.
    """
    cutoff = (now or utcnow()) - max(FRESH_FOR, timedelta(days=1))
    await db.execute(
        delete(PushMessage).where(PushMessage.state != "pending", PushMessage.created_at < cutoff)
    )


async def queue_test_push(
    db: AsyncSession, settings: Settings, person: Actor, translate: Translate
) -> int:
    """Queue a test push to every browser of ``person`` (the settings page's button)."""
    locale = await _locale_of(db, settings, person.id)
    made = 0
    # An app's subscription gets Mastodon's payloads only (fedi.domain.push_app).
    for subscription in await subscriptions_of(db, person, browsers_only=True):
        db.add(PushMessage(
            subscription_id=subscription.id,
            payload=_payload(settings, None, TEST_TEXT, locale, translate),
        ))
        made += 1
    await db.flush()
    return made


@subscribes(AccountDeleted)
async def forget_browsers(db: AsyncSession, settings: Settings, event: AccountDeleted) -> None:
    """A deleted account's browsers are forgotten with it (the actor row itself stays)."""
    del settings
    await db.execute(
        delete(PushSubscription).where(PushSubscription.actor_id == event.actor.id)
    )
    await db.execute(delete(PushPreference).where(PushPreference.actor_id == event.actor.id))
