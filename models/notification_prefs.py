"""A person's notification choices that are not per kind: how often the digest comes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class NotificationPreference(Base):
    """Per local person: digest frequency and up to when the digest has been mailed.

    ``digest_frequency`` is ``off``, ``daily`` or ``weekly``. ``digest_sent_until`` is the
    end of the last period whose digest was handled (mailed, or found empty), so a
    restarted worker never mails a period twice and never skips one.
    """

    __tablename__ = "notification_preferences"

    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    digest_frequency: Mapped[str] = mapped_column(String(8), default="daily")
    digest_sent_until: Mapped[datetime | None] = mapped_column(default=None)
