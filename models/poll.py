"""Polls (decisions): a question on a tribe or an initiative, its options and the votes.

A poll of ours lives in one tribe (``initiative_id`` set when it is about an initiative)
and is addressed as ``{base}/polls/<id>``. A poll from another server (a Mastodon or Lemmy
``Question``) is kept as a row with ``local`` false and its own ``ap_id``: its options and
counts are what its server last told us, and the votes here are only our own people's (so
we know who voted and what). A voter is an ``Actor``, local or remote.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.actor import Actor
from models.base import Base, utcnow


class Poll(Base):
    """A question with options: single (``multiple`` false) or multiple choice.

    ``voters``: members | partners | anyone (who may vote). ``results``: live (counts shown
    while it runs) | closed (hidden until it closes). ``closed_at`` is set when it closed
    (at ``end_time``, or earlier by its organiser); ``deleted_at`` when it was cancelled
    or deleted (its id then answers 410). ``voters_count`` counts distinct voters.
    """

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_tribe_created", "tribe_id", "created_at"),
        Index("ix_polls_initiative", "initiative_id"),
        Index("ix_polls_open_end", "closed_at", "end_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), default=None
    )
    tribe_id: Mapped[int | None] = mapped_column(
        ForeignKey("tribes.id", ondelete="CASCADE"), default=None
    )
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), default=None
    )
    question: Mapped[str] = mapped_column(String(500))
    content_html: Mapped[str] = mapped_column(Text, default="")
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    voters: Mapped[str] = mapped_column(String(16), default="members")
    results: Mapped[str] = mapped_column(String(16), default="live")
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    voters_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    author: Mapped[Actor | None] = relationship(lazy="joined")
    options: Mapped[list[PollOption]] = relationship(
        back_populates="poll", cascade="all, delete-orphan", lazy="selectin",
        order_by="PollOption.position",
    )


class PollOption(Base):
    """One answer of a poll, in ``position`` order; ``votes_count`` is its tally (for a
    remote poll, the ``replies.totalItems`` its server last sent)."""

    __tablename__ = "poll_options"
    __table_args__ = (
        UniqueConstraint("poll_id", "position", name="uq_poll_options_poll_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(500))
    votes_count: Mapped[int] = mapped_column(default=0)

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollVote(Base):
    """One person's choice of one option (a multiple-choice vote is one row per option).

    ``ap_id`` is the vote ``Note``'s id: the one a remote voter sent, or the one we sent
    for a local person voting in a remote poll.
    """

    __tablename__ = "poll_votes"
    __table_args__ = (
        UniqueConstraint("option_id", "voter_id", name="uq_poll_votes_option_voter"),
        Index("ix_poll_votes_poll_voter", "poll_id", "voter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    voter: Mapped[Actor] = relationship(lazy="joined")
