"""When a person last looked at the start page, so it can show what happened since."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class LastVisit(Base):
    """A person's visits to the start page: ``seen_at`` is the latest, ``previous_at`` the
    visit before it (the start of "since your last visit"); a visit within half an hour of
    the latest only moves ``seen_at``, so reloading does not empty the list."""

    __tablename__ = "last_visits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_at: Mapped[datetime | None] = mapped_column(default=None)
