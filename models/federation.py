"""Federation state: received activities, our own activities, objects, follows and deliveries.

Objects and activities are stored as their raw JSON plus the columns we query copied out,
so nothing a remote server sent is lost and the indexes stay small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class InboxItem(Base):
    """An activity received by an inbox (or produced locally for local recipients).

    Stored once by its id, so a redelivery is a no-op; a worker processes it later.
    ``state`` moves pending -> done | failed | ignored.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_state_next", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor_ap_id: Mapped[str] = mapped_column(String(2048), index=True)
    payload: Mapped[dict[str, Any]]
    # The key owner that signed the request, for the record.
    signed_by: Mapped[str | None] = mapped_column(String(2048), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class InboxEntry(Base):
    """Links an activity to the local actor whose inbox it reached (for C2S inbox reads)."""

    __tablename__ = "inbox_entries"
    __table_args__ = (
        UniqueConstraint("actor_id", "activity_ap_id", name="uq_inbox_entries_actor_activity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    activity_ap_id: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class OutboxActivity(Base):
    """An activity one of our actors published; deliveries point at it."""

    __tablename__ = "outbox_activities"
    __table_args__ = (Index("ix_outbox_activities_actor_created", "actor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    object_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None, index=True)
    payload: Mapped[dict[str, Any]]
    # Whether the activity is addressed to Public (listed in the public outbox).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApObject(Base):
    """A content object (Note, Page, ...) from here or elsewhere."""

    __tablename__ = "objects"
    __table_args__ = (Index("ix_objects_attributed_published", "attributed_to_id", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    attributed_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str | None] = mapped_column(String(500), default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    content_html: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(Text, default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    in_reply_to: Mapped[str | None] = mapped_column(String(2048), default=None, index=True)
    context: Mapped[str | None] = mapped_column(String(2048), default=None, index=True)
    # public | unlisted | followers | direct
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    payload: Mapped[dict[str, Any]]
    published: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Follow(Base):
    """A follow between two actors; ``accepted`` is False while a request waits."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "followed_id", name="uq_follows_follower_followed"),
        Index("ix_follows_followed_accepted", "followed_id", "accepted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    followed_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    activity_ap_id: Mapped[str] = mapped_column(String(2048))
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)


class Reaction(Base):
    """A ``Like`` or an ``Announce`` of an object by an actor."""

    __tablename__ = "reactions"
    __table_args__ = (
        UniqueConstraint("actor_id", "kind", "object_ap_id", name="uq_reactions_actor_kind_object"),
        Index("ix_reactions_object_kind", "object_ap_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    object_ap_id: Mapped[str] = mapped_column(String(2048))
    activity_ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One activity to one inbox: the durable unit of outgoing federation.

    Written in the same transaction as the change that causes it. ``state`` moves
    pending -> delivered | failed (final 4xx) | gave_up (retries exhausted) | gone (410).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("activity_id", "inbox_url", name="uq_deliveries_activity_inbox"),
        Index("ix_deliveries_state_next", "state", "next_try_at"),
        Index("ix_deliveries_domain_state", "domain", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_activities.id", ondelete="CASCADE"), index=True
    )
    inbox_url: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class DomainHealth(Base):
    """How a remote domain has answered our deliveries, to pause one that keeps failing."""

    __tablename__ = "domain_health"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
    # How many times in a row the domain was paused; each pause lasts twice the previous.
    pause_level: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
