"""Tribes: communities that are ``Group`` actors, their members, invitations and moderation.

A tribe *is* a row in ``actors`` (type ``Group``, username = slug); ``Tribe`` holds what a
Group actor row has no columns for. Because the actor row carries the name, a tribe and a
person can never share one (the unique ``(username, domain)`` constraint).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.actor import Actor
from models.base import Base, utcnow


class Tribe(Base):
    """The community side of a ``Group`` actor: theme, description, rules and join mode."""

    __tablename__ = "tribes"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), unique=True
    )
    # Always equal to the actor's username; kept here so tribe queries need no join.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    theme: Mapped[str] = mapped_column(String(255), default="")
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(512), default=None)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    # Who may start initiatives: anyone | members | admins
    initiative_policy: Mapped[str] = mapped_column(String(16), default="members")
    budget_available: Mapped[str] = mapped_column(Text, default="")
    target_area: Mapped[str] = mapped_column(String(255), default="")
    # open | approval | invite
    join_mode: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")

    @property
    def name(self) -> str:
        """The tribe's name (the Group actor's display name)."""
        return self.actor.display_name or self.slug


class TribeMember(Base):
    """One actor (local or remote) in a tribe: an active member, a request or an invitation.

    ``state``: active | pending (asked to join an approval tribe) | invited (an admin
    invited them, they have not accepted yet). ``activity_ap_id`` is the Follow or Join that
    created the row (or the Invite we sent), needed to answer it with Accept/Reject.
    """

    __tablename__ = "tribe_members"
    __table_args__ = (
        UniqueConstraint("tribe_id", "actor_id", name="uq_tribe_members_tribe_actor"),
        Index("ix_tribe_members_tribe_state_role", "tribe_id", "state", "role"),
        Index("ix_tribe_members_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    # admin | moderator | member
    role: Mapped[str] = mapped_column(String(16), default="member")
    state: Mapped[str] = mapped_column(String(16), default="active")
    message: Mapped[str] = mapped_column(Text, default="")
    activity_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(default=None)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")


class TribeInvite(Base):
    """An invitation: a link with a token, or one aimed at an e-mail address or an actor.

    ``kind``: link | email | actor. Only the SHA-256 hash of a token is stored. An e-mail
    invitation is claimed by the person who registers or logs in with that address.
    ``state``: open | used | revoked.
    """

    __tablename__ = "tribe_invites"
    __table_args__ = (
        Index("ix_tribe_invites_tribe_state", "tribe_id", "state"),
        Index("ix_tribe_invites_email_state", "email", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), default=None
    )
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TribeBlock(Base):
    """A person (by actor id) or a whole domain that a tribe refuses."""

    __tablename__ = "tribe_blocks"
    __table_args__ = (
        UniqueConstraint("tribe_id", "actor_ap_id", name="uq_tribe_blocks_tribe_actor"),
        UniqueConstraint("tribe_id", "domain", name="uq_tribe_blocks_tribe_domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    actor_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HeldPost(Base):
    """A post for the tribe held until a moderator approves or rejects it.

    ``payload`` is the activity exactly as received, so approving it can announce it
    unchanged. ``state``: pending | approved | rejected.
    """

    __tablename__ = "held_posts"
    __table_args__ = (
        UniqueConstraint("tribe_id", "activity_ap_id", name="uq_held_posts_tribe_activity"),
        Index("ix_held_posts_tribe_state", "tribe_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    activity_ap_id: Mapped[str] = mapped_column(String(2048))
    object_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")


class Report(Base):
    """A report (``Flag``) about people or posts, for a tribe's moderators or the instance.

    ``state``: open | resolved.
    """

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_tribe_state", "tribe_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    tribe_id: Mapped[int | None] = mapped_column(
        ForeignKey("tribes.id", ondelete="CASCADE"), default=None
    )
    target_ap_ids: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The Flag activity's id when the report came in over ActivityPub.
    activity_ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )

    reporter: Mapped[Actor] = relationship(foreign_keys=[reporter_id], lazy="joined")


class TribeEvent(Base):
    """One entry of a tribe's history (joins, leaves, role changes...), shown on its pages.

    ``subject_id`` is the person it is about, ``by_id`` who did it (None: themselves or a
    remote server). ``kind`` names the change (see ``fedi.federation.outgoing.tribes``).
    """

    __tablename__ = "tribe_events"
    __table_args__ = (Index("ix_tribe_events_tribe_created", "tribe_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    detail: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subject: Mapped[Actor | None] = relationship(foreign_keys=[subject_id], lazy="joined")
    by: Mapped[Actor | None] = relationship(foreign_keys=[by_id], lazy="joined")
