"""Instance-wide state: settings that admins change at run time, and blocked domains."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
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
    """The attempts counted in one time window of one rate-limit bucket, shared by processes.

    One row per bucket ("login-ip:1.2.3.4") and window (its start in Unix seconds): taking a
    slot is a single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE hits < cap RETURNING``, so
    concurrent requests can never all pass the limit at once (fedi/domain/ratelimit.py).
    """

    __tablename__ = "rate_limit_hits"

    bucket: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
