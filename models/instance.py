"""Instance-wide state: settings that admins change at run time, and blocked domains."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class InstanceSetting(Base):
    """A key/value setting that admins change at run time (e.g. the registration mode)."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DomainBlock(Base):
    """A remote domain the instance admins refuse outright (inbox answers 403)."""

    __tablename__ = "domain_blocks"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimitHit(Base):
    """One attempt counted against a rate limit (login, registration), shared by processes."""

    __tablename__ = "rate_limit_hits"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(255), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
