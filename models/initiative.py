"""Initiatives (Part-up's "part-ups"): the goal, its board of lanes and tasks, contributions,
the people around it, its history and conversation, and the notifications they cause.

An initiative lives in one tribe and is addressed as ``{base}/initiatives/<id>``: the
integer id never changes, so neither does the URL when the name is edited. Every table
that points at a person points at ``actors``, so a remote person (another instance, or
Mastodon) can be a supporter, partner, contributor or commenter exactly like a local one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.actor import Actor
from models.base import Base, utcnow
from models.tribe import Tribe


class Initiative(Base):
    """A goal people work on together inside a tribe.

    ``phase``: idea | plan | execute | grow. ``budget_type``: none | hours | money (the
    amount in whole hours or euros). ``visibility``: public (everyone) | members (members of
    the tribe and the partners) | private (partners only). ``archived_at`` makes it
    read-only; ``deleted_at`` leaves a tombstone (its id answers 410 Gone).
    """

    __tablename__ = "initiatives"
    __table_args__ = (Index("ix_initiatives_tribe_created", "tribe_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tribe_id: Mapped[int] = mapped_column(ForeignKey("tribes.id", ondelete="CASCADE"))
    creator_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    expected_result: Mapped[str] = mapped_column(Text, default="")
    motivation: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    phase: Mapped[str] = mapped_column(String(16), default="idea")
    budget_type: Mapped[str] = mapped_column(String(16), default="none")
    budget_amount: Mapped[int | None] = mapped_column(default=None)
    location: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    image_path: Mapped[str | None] = mapped_column(String(512), default=None)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    # The ``Page`` id: ours is ``{base}/initiatives/<id>``; a remote initiative keeps its own.
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tribe: Mapped[Tribe] = relationship(lazy="joined")
    creator: Mapped[Actor | None] = relationship(lazy="joined")


class Lane(Base):
    """A column of the board ("Backlog", "Doing", "Done"...), in ``position`` order."""

    __tablename__ = "initiative_lanes"
    __table_args__ = (Index("ix_initiative_lanes_initiative", "initiative_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    """A piece of work on the board (Part-up called it an "activity").

    ``tags`` are what the task needs (matched against talents); ``completed_at`` set means
    done (federated as ``isResolved``).
    """

    __tablename__ = "initiative_tasks"
    __table_args__ = (
        Index("ix_initiative_tasks_initiative_lane", "initiative_id", "lane_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    lane_id: Mapped[int] = mapped_column(ForeignKey("initiative_lanes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    position: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    completed_by: Mapped[Actor | None] = relationship(
        foreign_keys=[completed_by_id], lazy="joined"
    )


class Contribution(Base):
    """An offer of hours or resources for a task.

    ``state``: proposed -> accepted | rejected, or withdrawn by the offerer.
    """

    __tablename__ = "initiative_contributions"
    __table_args__ = (
        Index("ix_initiative_contributions_task_state", "task_id", "state"),
        Index("ix_initiative_contributions_actor", "actor_id"),
        # The progress figure of every initiative page counts its contributions by state.
        Index("ix_initiative_contributions_initiative_state", "initiative_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("initiative_tasks.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    hours: Mapped[int | None] = mapped_column(default=None)
    resources: Mapped[str] = mapped_column(Text, default="")
    motivation: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # The Offer's object id (ours: {initiative}/contributions/<id>); the Offer activity id.
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    offer_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")
    decided_by: Mapped[Actor | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")


class Rating(Base):
    """A partner's rating (0-100) of an accepted contribution, with feedback."""

    __tablename__ = "initiative_ratings"
    __table_args__ = (
        UniqueConstraint(
            "contribution_id", "partner_id", name="uq_initiative_ratings_contribution_partner"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("initiative_contributions.id", ondelete="CASCADE")
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(default=0)
    feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    partner: Mapped[Actor] = relationship(lazy="joined")


class InitiativePartner(Base):
    """Someone who does the work: ``state`` active, or requested (waiting for a partner).

    ``role``: creator | partner | contributor (became a partner by an accepted
    contribution) — for display; every active partner has the same rights.
    """

    __tablename__ = "initiative_partners"
    __table_args__ = (
        UniqueConstraint("initiative_id", "actor_id", name="uq_initiative_partners_pair"),
        Index("ix_initiative_partners_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    role: Mapped[str] = mapped_column(String(16), default="partner")
    message: Mapped[str] = mapped_column(Text, default="")
    activity_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    since: Mapped[datetime | None] = mapped_column(default=None)

    actor: Mapped[Actor] = relationship(lazy="joined")


class InitiativeSupporter(Base):
    """Someone who follows an initiative (one click, a ``Like``, a ``Follow``, a comment)."""

    __tablename__ = "initiative_supporters"
    __table_args__ = (
        UniqueConstraint("initiative_id", "actor_id", name="uq_initiative_supporters_pair"),
        Index("ix_initiative_supporters_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    # The Like/Follow that made them a supporter, so an Undo of it can be matched.
    activity_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    since: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Actor] = relationship(lazy="joined")


class InitiativeUpdate(Base):
    """One entry of an initiative's history: a typed change, or a free message.

    ``kind`` names the change (see ``fedi.domain.initiative_history.UPDATE_KINDS``); ``payload``
    holds its details (names, old and new values). Messages carry ``content_*`` and an
    ``ap_id`` (they federate as a ``Note``). Nothing here is edited away silently.
    """

    __tablename__ = "initiative_updates"
    __table_args__ = (
        Index("ix_initiative_updates_initiative_created", "initiative_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative_tasks.id", ondelete="SET NULL"), default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_source: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Actor | None] = relationship(lazy="joined")


class Comment(Base):
    """A reply under an update, a task or the initiative itself (a ``Note`` with inReplyTo).

    ``in_reply_to_ap_id`` is what the note replied to as received (a Mastodon reply names
    the initiative, an update or another comment); the foreign keys are where we filed it.
    """

    __tablename__ = "initiative_comments"
    __table_args__ = (
        Index("ix_initiative_comments_initiative_created", "initiative_id", "created_at"),
        Index("ix_initiative_comments_update", "update_id"),
        Index("ix_initiative_comments_task", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    update_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative_updates.id", ondelete="CASCADE"), default=None
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative_tasks.id", ondelete="CASCADE"), default=None
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative_comments.id", ondelete="SET NULL"), default=None
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    content_source: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    in_reply_to_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    author: Mapped[Actor] = relationship(lazy="joined")


class Notification(Base):
    """An in-app notification for a local person (``recipient``).

    ``kind`` is one of ``fedi.domain.notifications.KINDS``; ``payload`` has what the
    text needs (names, ids, a link); ``actor`` is who caused it.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient_created", "recipient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Issue 12: true while the person's "e-mail at once" channel still has to mail it
    # (fedi.workers.notify_mail turns it into an OutgoingMail and clears it).
    email_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    actor: Mapped[Actor | None] = relationship(foreign_keys=[actor_id], lazy="joined")


class NotificationSetting(Base):
    """A person's choice for one kind of notification: in the app, in the daily digest."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        UniqueConstraint("actor_id", "kind", name="uq_notification_settings_actor_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=True)
    # E-mail (issue 12): whether this kind may be mailed; the one-click unsubscribe link in
    # such a mail switches it off (fedi.domain.mail_unsubscribe).
    email: Mapped[bool] = mapped_column(Boolean, default=True)
