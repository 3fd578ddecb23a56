"""Settings that admins change while the instance runs (kept in ``instance_settings``).

The environment gives the starting value; a value stored by an admin wins from then on.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import ServiceError
from fedi.settings import REGISTRATION_MODES, Settings
from models import InstanceSetting, User, utcnow

REGISTRATION_MODE_KEY = "registration_mode"


async def get_setting(db: AsyncSession, key: str, default: str) -> str:
    """The stored value of ``key``, or ``default``."""
    row = await db.get(InstanceSetting, key)
    return row.value if row is not None else default


async def set_setting(db: AsyncSession, key: str, value: str) -> None:
    """Store ``value`` under ``key``."""
    row = await db.get(InstanceSetting, key)
    if row is None:
        db.add(InstanceSetting(key=key, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
    await db.flush()


async def get_registration_mode(db: AsyncSession, settings: Settings) -> str:
    """How people can join: ``open``, ``approval`` or ``invite``."""
    mode = await get_setting(db, REGISTRATION_MODE_KEY, settings.registration_mode)
    return mode if mode in REGISTRATION_MODES else settings.registration_mode


async def set_registration_mode(db: AsyncSession, mode: str, *, acting: User | None = None) -> str:
    """Change how people can join; returns the normalised mode (recorded in the audit log)."""
    mode = mode.strip().lower()
    if mode not in REGISTRATION_MODES:
        raise ServiceError(
            "The registration mode must be one of: %(modes)s.", field="mode",
            modes=", ".join(REGISTRATION_MODES),
        )
    old = await get_setting(db, REGISTRATION_MODE_KEY, "")
    await set_setting(db, REGISTRATION_MODE_KEY, mode)
    await record_audit(
        db, "registration.mode", by=acting, target=Target("instance", REGISTRATION_MODE_KEY, mode),
        details={"old": old, "new": mode},
    )
    return mode
