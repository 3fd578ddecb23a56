"""The admin audit log: who did which moderation or administration action, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEntry(Base):
    """One moderation or administration action; rows are only ever added, never changed.

    Who acted is kept twice: ``actor_id`` links to the actor while it exists, and
    ``actor_label`` keeps the name when the account is deleted later (the entry stays).
    An action taken from the command line has no actor.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="SET NULL"), default=None
    )
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    # A dotted name such as ``user.disable`` or ``domain.block`` (fedi/domain/audit.py).
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(255), default="")
    target_label: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
