"""What only the Mastodon client API keeps: media uploads, bookmarks, markers, idempotency keys.

Everything else an app sees (statuses, favourites, boosts, notifications) is the same rows the
web pages use; these tables hold what has no web-page counterpart yet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class MediaAttachment(Base):
    """An uploaded file, first on its own (``/api/v2/media``), then attached to a note.

    ``object_ap_id`` is None until a status is posted with it; unattached uploads belong
    to their uploader only.
    """

    __tablename__ = "media_attachments"
    __table_args__ = (Index("ix_media_attachments_object", "object_ap_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    # Relative to the uploads folder ("images/<hex>.png"), as fedi.domain.media stores it.
    path: Mapped[str] = mapped_column(String(512))
    media_type: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    focus_x: Mapped[float] = mapped_column(default=0.0)
    focus_y: Mapped[float] = mapped_column(default=0.0)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    object_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bookmark(Base):
    """A note a person keeps for later (private: nothing federates)."""

    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("actor_id", "object_ap_id", name="uq_bookmarks_actor_object"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    object_ap_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineMarker(Base):
    """Where a person stopped reading a timeline (``home`` or ``notifications``)."""

    __tablename__ = "timeline_markers"
    __table_args__ = (
        UniqueConstraint("actor_id", "timeline", name="uq_timeline_markers_actor_timeline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))
    last_read_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a person's app sent with a new status, and the status it made.

    A retry with the same key answers the same status instead of posting twice (Mastodon
    keeps the keys for an hour; we keep them and ignore those older than a day).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("actor_id", "key", name="uq_idempotency_keys_actor_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    object_ap_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
