"""What a tribe (a FEP-1b12 ``Group``) has accepted and announced.

``TribePost`` marks an object (a note, later an initiative) as belonging to a tribe: the
tribe page lists these, replies are routed to the thread they belong to through them, and a
moderator removes one. ``TribeAnnounce`` remembers every ``Announce`` the tribe sent and
which post it concerned, so a removal can send ``Undo{Announce}`` for each of them (that is
what takes a boost off Mastodon timelines).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.actor import Actor
from models.base import Base, utcnow


class TribePost(Base):
    """An object the tribe accepted and distributed: a top-level post or a reply in a thread.

    ``root_ap_id`` is the top-level post of the thread (the object itself for a top-level
    post). ``state``: active | removed (by a moderator) | deleted (by its author).
    """

    __tablename__ = "tribe_posts"
    __table_args__ = (
        UniqueConstraint("tribe_id", "object_ap_id", name="uq_tribe_posts_tribe_object"),
        Index("ix_tribe_posts_tribe_state_created", "tribe_id", "state", "created_at"),
        Index("ix_tribe_posts_object", "object_ap_id"),
        Index("ix_tribe_posts_root", "root_ap_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    object_ap_id: Mapped[str] = mapped_column(String(2048))
    # The activity (usually a Create) that brought it in.
    activity_ap_id: Mapped[str] = mapped_column(String(2048))
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(32), default="Note")
    is_reply: Mapped[bool] = mapped_column(default=False)
    root_ap_id: Mapped[str] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )

    author: Mapped[Actor] = relationship(foreign_keys=[author_id], lazy="joined")


class TribeAnnounce(Base):
    """One ``Announce`` the tribe sent, and the object it was about (for undoing it)."""

    __tablename__ = "tribe_announces"
    __table_args__ = (Index("ix_tribe_announces_tribe_object", "tribe_id", "object_ap_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    announce_ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    # The activity announced (wrapped), or the object itself for a boost.
    inner_ap_id: Mapped[str] = mapped_column(String(2048), index=True)
    inner_type: Mapped[str] = mapped_column(String(32))
    # The object the announced activity concerns (the post, or the person for Add/Remove).
    object_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    boost: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
