"""Meetups: events a tribe or an initiative organises, and who takes part.

A meetup is federated as an ActivityStreams ``Event`` the way Mobilizon shapes it. Ours has
``local`` true and the id ``{base}/events/<key>``; one received from another server (a
Mobilizon group, another instance of ours) keeps its own id and ``local`` false, and local
people can join it. Participants point at ``actors``, so a remote person (Mobilizon,
Mastodon, another instance) takes part exactly like a local one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.actor import Actor
from models.base import Base, utcnow
from models.initiative import Initiative
from models.tribe import Tribe


class Meetup(Base):
    """One event: when, where (a place or an online link), who may join, and its status.

    ``join_mode``: anyone | members (active members of the tribe) | approval (an organiser
    accepts each request). ``status``: confirmed | tentative | cancelled. ``capacity`` None
    means no limit. ``deleted_at`` leaves a tombstone (its id answers 410 Gone).
    ``reminded_at`` is set once the day-before reminder went out.
    """

    __tablename__ = "meetups"
    __table_args__ = (
        Index("ix_meetups_starts_at", "starts_at"),
        Index("ix_meetups_tribe_starts", "tribe_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    # The tribe it belongs to (ours, or a remote group we know as a tribe); None for a
    # remote event of a group or person we have no tribe row for.
    tribe_id: Mapped[int | None] = mapped_column(
        ForeignKey("tribes.id", ondelete="CASCADE"), default=None
    )
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), default=None
    )
    organiser_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    # A remote event's group (Mobilizon's ``attributedTo`` when it is not the organiser).
    group_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    title: Mapped[str] = mapped_column(String(255))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # IANA zone name the times are shown in ("Europe/Amsterdam").
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    place_name: Mapped[str] = mapped_column(String(255), default="")
    street: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="")
    locality: Mapped[str] = mapped_column(String(255), default="")
    country: Mapped[str] = mapped_column(String(255), default="")
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    online_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    capacity: Mapped[int | None] = mapped_column(default=None)
    join_mode: Mapped[str] = mapped_column(String(16), default="anyone")
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    # A remote event's own count (we only know our own participants in it).
    remote_participant_count: Mapped[int | None] = mapped_column(default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    raw: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organiser: Mapped[Actor] = relationship(foreign_keys=[organiser_id], lazy="joined")
    tribe: Mapped[Tribe | None] = relationship(foreign_keys=[tribe_id], lazy="joined")
    initiative: Mapped[Initiative | None] = relationship(
        foreign_keys=[initiative_id], lazy="joined"
    )


class MeetupParticipant(Base):
    """One actor's participation in a meetup.

    ``state``: accepted | pending (waiting for an organiser, or for the remote server's
    ``Accept``) | rejected. ``activity_ap_id`` is the ``Join`` that asked (theirs, or ours
    for a local person joining a remote event), needed to answer or match the answer.
    """

    __tablename__ = "meetup_participants"
    __table_args__ = (
        UniqueConstraint("meetup_id", "actor_id", name="uq_meetup_participants_meetup_actor"),
        Index("ix_meetup_participants_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    message: Mapped[str] = mapped_column(Text, default="")
    activity_ap_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    actor: Mapped[Actor] = relationship(foreign_keys=[actor_id], lazy="joined")
