"""Web Push: the browsers people allowed to notify them, and the queue of pushes to send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PushSubscription(Base):
    """One browser's Push API subscription of a local person (``PushSubscription.toJSON()``).

    ``p256dh`` and ``auth`` are the browser's public key and secret (base64url), used to
    encrypt every message (RFC 8291); the push service only ever sees ciphertext.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(255))
    auth: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A Mastodon API app's subscription (``/api/v1/push/subscription``) belongs to the OAuth
    # token it was made with and goes with it; None for a browser of the web pages.
    oauth_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_tokens.id", ondelete="CASCADE"), default=None, index=True
    )
    # The app's choices: which Mastodon notification types it wants, from whom ("all",
    # "followed", "follower", "none"), and the encryption it decrypts ("aes128gcm", RFC 8291,
    # or "aesgcm", the draft Mastodon used before 4.4 and Mastodon.py still expects).
    alerts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy: Mapped[str] = mapped_column(String(16), default="all")
    encoding: Mapped[str] = mapped_column(String(16), default="aes128gcm")
    # The app's access token, sealed with the instance's secret key: Mastodon puts it in
    # every push (apps use it to tell their accounts apart); tokens are otherwise hashed.
    sealed_token: Mapped[str | None] = mapped_column(Text, default=None)


class PushPreference(Base):
    """A person's push channel: on or off as a whole, and the notification kinds left out."""

    __tablename__ = "push_preferences"

    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)


class PushMessage(Base):
    """One push of one notification to one subscription, sent by the push worker.

    ``state`` moves pending -> sent | failed | skipped (the person switched push off for the
    kind); a push service that is down or answers 5xx/429 only moves ``next_try_at`` on.
    A 404 or 410 means the browser unsubscribed: the subscription (and its rows) go.
    """

    __tablename__ = "push_messages"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "notification_id", name="uq_push_messages_subscription_note"
        ),
        Index("ix_push_messages_state_next", "state", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="CASCADE")
    )
    # The notification it tells about (None for a test push from the settings page).
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), default=None, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
