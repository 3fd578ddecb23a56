"""What a Mastodon API app's push subscription receives (``/api/v1/push/subscription``).

An app's subscription is a ``PushSubscription`` with ``oauth_token_id`` set; the push
service (:mod:`fedi.domain.push`) queues its pushes like a browser's, and asks this module
whether the app wants a notification and what to send. Mastodon's rules, as its
``Web::PushNotificationWorker`` and ``Web::NotificationSerializer`` apply them:

* only notifications with a Mastodon type are pushed (an app fetches
  ``/api/v1/notifications/:id`` with the ``notification_id``; a kind the API does not list
  would be a dead link), and only the types the app switched on in ``data[alerts]``;
* the ``policy`` says from whom: ``all``, ``followed`` (people the person follows),
  ``follower`` (people following the person) or ``none``;
* the payload is JSON with ``access_token``, ``preferred_locale``, ``notification_id``,
  ``notification_type``, ``icon``, ``title`` and ``body``.

The access token is put in each push as Mastodon does (apps with several accounts tell them
apart by it). Tokens are kept hashed, so the subscription keeps its own copy sealed with
the instance's secret key (Fernet), never in the clear.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.profiles import avatar_url
from fedi.settings import Settings
from fedi.text import plain_text
from models import Actor, ApObject, Follow, Notification, OAuthToken, PushSubscription

__all__ = [
    "ALERT_TYPES",
    "KIND_TO_TYPE",
    "POLICIES",
    "app_push",
    "seal_token",
    "unseal_token",
]

# Our notification kind -> Mastodon's notification type: the kinds the API lists
# (fedi/http/mastodon/notifications.py) and the pushes apps get.
KIND_TO_TYPE: dict[str, str] = {
    "mention": "mention",
    "reply": "mention",
    "like": "favourite",
    "boost": "reblog",
    "follow": "follow",
    "follow_request": "follow_request",
}
# The alerts an app may switch on (Mastodon 4.3's list); those we never send stay false.
ALERT_TYPES = (
    "mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
    "admin.sign_up", "admin.report",
)
POLICIES = ("all", "followed", "follower", "none")
# The push's title per type, as Mastodon words it (``notification_mailer.*.subject``).
TITLES: dict[str, str] = {
    "mention": "%(name)s mentioned you",
    "favourite": "%(name)s favourited your post",
    "reblog": "%(name)s boosted your post",
    "follow": "%(name)s followed you",
    "follow_request": "%(name)s wants to follow you",
}
# Push services limit a message to 4 KB; Mastodon cuts the body the same way.
BODY_CHARS = 140
_NOTE_KEYS = ("note", "status", "object")

Translate = Callable[[str, str], str]  # (locale, message) -> translated message


def _fernet(settings: Settings) -> Fernet:
    digest = hashlib.sha256(b"push-app-token:" + settings.secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_token(settings: Settings, access_token: str) -> str:
    """``access_token`` encrypted with a key derived from the instance's secret key."""
    return _fernet(settings).encrypt(access_token.encode("utf-8")).decode("ascii")


def unseal_token(settings: Settings, sealed: str | None) -> str:
    """The access token back (empty when there is none or the secret key changed)."""
    if not sealed:
        return ""
    try:
        return _fernet(settings).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return ""


async def _policy_allows(
    db: AsyncSession, policy: str, person_id: int, from_id: int | None
) -> bool:
    if policy == "all":
        return True
    if policy == "none" or from_id is None:
        return False
    if policy == "followed":  # from people the person follows
        follower, followed = person_id, from_id
    else:  # "follower": from people who follow the person
        follower, followed = from_id, person_id
    found = await db.scalar(
        select(Follow.id).where(
            Follow.follower_id == follower, Follow.followed_id == followed,
            Follow.accepted.is_(True),
        ).limit(1)
    )
    return found is not None


async def _body(db: AsyncSession, note: Notification, sender: Actor | None) -> str:
    for key in _NOTE_KEYS:
        value = (note.payload or {}).get(key)
        if isinstance(value, str) and value:
            obj = await db.scalar(select(ApObject).where(ApObject.ap_id == value))
            if obj is not None and obj.deleted_at is None:
                return plain_text(obj.content_html or "", BODY_CHARS)
    if sender is not None:  # a follow: Mastodon shows the follower's bio
        return plain_text(sender.bio_html or "", BODY_CHARS)
    return ""


async def app_push(
    db: AsyncSession, settings: Settings, subscription: PushSubscription, note: Notification,
    locale: str, translate: Translate,
) -> dict[str, Any] | None:
    """The payload of ``note`` for the app's ``subscription``, or None when the app does
    not want it (no Mastodon type, alert off, policy, token revoked)."""
    kind = KIND_TO_TYPE.get(note.kind)
    alerts = subscription.alerts or {}
    if kind is None or not alerts.get(kind):
        return None
    token = await db.get(OAuthToken, subscription.oauth_token_id)
    if token is None or token.revoked_at is not None:
        return None
    if not await _policy_allows(db, subscription.policy, note.recipient_id, note.actor_id):
        return None
    sender = await db.get(Actor, note.actor_id) if note.actor_id is not None else None
    name = (sender.display_name or sender.username) if sender is not None else ""
    return {
        "access_token": unseal_token(settings, subscription.sealed_token),
        "preferred_locale": locale,
        # A string, as Mastodon sends it (ids are strings everywhere in its API).
        "notification_id": str(note.id),
        "notification_type": kind,
        "icon": (avatar_url(settings, sender) if sender is not None else None) or "",
        "title": translate(locale, TITLES[kind]) % {"name": name},
        "body": await _body(db, note, sender),
    }
