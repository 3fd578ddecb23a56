"""The push subscription of a Mastodon API app: one per access token, as on Mastodon.

``POST /api/v1/push/subscription`` replaces the token's subscription, ``PUT`` changes its
alerts and policy, ``DELETE`` removes it; revoking the token removes it too (the row's
foreign key, and :func:`forget_for_tokens` when a token is only marked revoked). The
subscription itself is stored and checked by the same service as a browser's
(:func:`fedi.domain.push.subscribe`); what the app receives is :mod:`fedi.domain.push_app`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import push, push_app
from fedi.domain.errors import NotFound, ServiceError
from fedi.settings import Settings
from models import Actor, OAuthToken, PushSubscription

__all__ = [
    "forget_for_tokens",
    "subscribe_app",
    "subscription_of_token",
    "truthy",
    "unsubscribe_app",
    "update_app",
]


def _urlsafe(value: Any) -> Any:
    """A key in base64url without padding: Mastodon.py sends standard base64 (``+/=``),
    browsers base64url; Mastodon accepts both."""
    if not isinstance(value, str):
        return value
    return value.strip().replace("+", "-").replace("/", "_").rstrip("=")


def truthy(value: Any) -> bool:
    """A boolean as apps send them: true/false, 1/0, on/off, JSON booleans."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes", "t")


def merge_alerts(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, bool]:
    """Every alert type with its setting: ``wanted`` over ``current``, the rest false."""
    return {
        kind: truthy(wanted[kind]) if kind in wanted else bool(current.get(kind, False))
        for kind in push_app.ALERT_TYPES
    }


def _check_policy(policy: str | None, default: str) -> str:
    policy = (policy or default).strip()
    if policy not in push_app.POLICIES:
        raise ServiceError("Unknown push policy.", field="policy")
    return policy


async def subscription_of_token(db: AsyncSession, token: OAuthToken) -> PushSubscription | None:
    """The push subscription made with ``token``, or None."""
    return await db.scalar(
        select(PushSubscription).where(PushSubscription.oauth_token_id == token.id)
    )


async def subscribe_app(
    db: AsyncSession, settings: Settings, person: Actor, token: OAuthToken, access_token: str,
    *, endpoint: str, p256dh: str, auth: str, alerts: Mapping[str, Any],
    policy: str | None, standard: bool,
) -> PushSubscription:
    """Make the token's subscription (replacing the one it had, as Mastodon does).

    ``standard``: the app decrypts RFC 8291 ``aes128gcm`` (Mastodon 4.4's ``standard``
    parameter); otherwise it gets the ``aesgcm`` draft encoding Mastodon used before.
    """
    policy = _check_policy(policy, "all")
    await db.execute(delete(PushSubscription).where(PushSubscription.oauth_token_id == token.id))
    row = await push.subscribe(
        db, settings, person,
        {"endpoint": endpoint, "keys": {"p256dh": _urlsafe(p256dh), "auth": _urlsafe(auth)}},
    )
    row.oauth_token_id = token.id
    row.alerts = merge_alerts({}, alerts)
    row.policy = policy
    row.encoding = "aes128gcm" if standard else "aesgcm"
    row.sealed_token = push_app.seal_token(settings, access_token)
    await db.flush()
    return row


async def update_app(
    db: AsyncSession, token: OAuthToken, *, alerts: Mapping[str, Any], policy: str | None
) -> PushSubscription:
    """Change the alerts and policy of the token's subscription; ``NotFound`` when it has
    none."""
    row = await subscription_of_token(db, token)
    if row is None:
        raise NotFound("Record not found")
    row.alerts = merge_alerts(row.alerts or {}, alerts)
    row.policy = _check_policy(policy, row.policy)
    await db.flush()
    return row


async def unsubscribe_app(db: AsyncSession, token: OAuthToken) -> None:
    """Remove the token's subscription (none is fine: Mastodon answers ``{}`` either way)."""
    await db.execute(delete(PushSubscription).where(PushSubscription.oauth_token_id == token.id))


async def forget_for_tokens(db: AsyncSession, token_ids: Iterable[int]) -> None:
    """Remove the subscriptions of revoked tokens (their rows stay, marked revoked)."""
    ids = list(token_ids)
    if ids:
        await db.execute(
            delete(PushSubscription).where(PushSubscription.oauth_token_id.in_(ids))
        )

