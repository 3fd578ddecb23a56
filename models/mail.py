"""The outgoing e-mail queue: each mail is a row, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class OutgoingMail(Base):
    """One e-mail to one address, sent by the mail worker with retries.

    ``state`` moves pending -> sent | failed (the server refused it for good, e.g. a 5xx
    for the recipient; ``last_error`` says why). A mail server that is down or answers 4xx
    only moves ``next_try_at`` on, so nothing is lost while it is away.
    """

    __tablename__ = "outgoing_mails"
    __table_args__ = (Index("ix_outgoing_mails_state_next", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The account the mail is about, when there is one (kept for unsubscribing and cleanup).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    to_address: Mapped[str] = mapped_column(String(320))
    # What the mail is for ("password_reset", "email_confirm", a notification type, ...).
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, default=None)
    # Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post.
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
