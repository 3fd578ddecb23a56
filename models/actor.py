"""Actors: local and remote people, groups and the instance's own Application actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class Actor(Base):
    """An ActivityPub actor we know: one of ours (``local``) or one fetched from elsewhere.

    The profile fields of local people live here too, so a remote person's profile and a
    local one read the same way in templates and talent matching.
    """

    __tablename__ = "actors"
    __table_args__ = (
        UniqueConstraint("username", "domain", name="uq_actors_username_domain"),
        Index("ix_actors_domain", "domain"),
        # Every listing leaves out what suspended accounts wrote (``shown_author``): without
        # it, that subquery reads every actor the instance has met, on every page.
        Index("ix_actors_suspended_at", "suspended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(32), default="Person")
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str] = mapped_column(String(255))
    # The host with a non-default port ("localhost:8001"), as it appears in handles.
    domain: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    bio_source: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    languages: Mapped[list[Any]] = mapped_column(default=list)
    links: Mapped[list[Any]] = mapped_column(default=list)
    avatar_path: Mapped[str | None] = mapped_column(String(512), default=None)
    icon_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    inbox: Mapped[str] = mapped_column(String(2048), default="")
    shared_inbox: Mapped[str | None] = mapped_column(String(2048), default=None)
    outbox: Mapped[str | None] = mapped_column(String(2048), default=None)
    followers_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    following_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    key_id: Mapped[str | None] = mapped_column(String(2048), default=None, index=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    private_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    # The remote actor document as last fetched, for fields we do not copy out.
    raw: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    fetched_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when a remote server answered 410 Gone for this actor.
    gone_at: Mapped[datetime | None] = mapped_column(default=None)
    # Moves (FEP-7628, issue 12): the person's other accounts (``alsoKnownAs``) and the
    # account they moved to (``movedTo``; a local account that moved is read-only).
    also_known_as: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    moved_to: Mapped[str | None] = mapped_column(String(2048), default=None)
    # Suspended by an admin here (local) or by its own server (remote); reversible.
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    talents: Mapped[list[ActorTalent]] = relationship(
        back_populates="actor", cascade="all, delete-orphan", lazy="selectin",
        order_by="ActorTalent.tag",
    )

    @property
    def handle(self) -> str:
        """The ``name@host`` handle people type to find this actor."""
        return f"{self.username}@{self.domain}"

    @property
    def name(self) -> str:
        """The name to show: the display name, falling back to the username."""
        return self.display_name or self.username


class ActorTalent(Base):
    """One talent (a free tag, normalised to lower case) on a person's profile."""

    __tablename__ = "actor_talents"
    __table_args__ = (UniqueConstraint("actor_id", "tag", name="uq_actor_talents_actor_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[Actor] = relationship(back_populates="talents")
