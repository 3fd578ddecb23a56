"""The admin audit log: one row for every moderation and administration action.

The services that carry out such an action call :func:`record_audit` in their own
transaction, so the entry exists exactly when the action took effect (a refused or failed
action leaves none). Entries are only added: there is no way to change or delete one, in
the pages or the command line. Who acted is an actor (a local admin, a tribe moderator) or
nobody (the ``fedi`` command line, run by whoever has the server).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, AuditEntry, User

# The actions recorded, by area; the admin page filters on these names.
ACTIONS = (
    "user.approve",
    "user.reject",
    "user.disable",
    "user.enable",
    "user.admin_grant",
    "user.admin_revoke",
    "user.reset_link",
    "user.delete",
    "user.suspend",
    "user.unsuspend",
    "invite.create",
    "registration.mode",
    "tribe.creation_mode",
    "domain.block",
    "domain.unblock",
    "tribe.block",
    "tribe.unblock",
    "tribe.member_remove",
    "tribe.role",
    "tribe.held_post",
    "tribe.report_resolve",
)
MAX_REASON = 2000


@dataclass(frozen=True)
class Target:
    """What an action concerned: a kind (``user``, ``domain``...), an id and a readable name."""

    type: str
    id: str = ""
    label: str = ""


def _who(by: Actor | User | None) -> tuple[int | None, str]:
    """The actor id and a readable name of who acted (a ``User`` acts through its actor)."""
    if by is None:
        return None, ""
    if isinstance(by, User):
        return by.actor_id, by.actor.username
    return by.id, by.handle


async def record_audit(
    db: AsyncSession,
    action: str,
    *,
    by: Actor | User | None,
    target: Target,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry in the caller's transaction (it commits with the action)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    actor_id, label = _who(by)
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=label[:320],
        action=action,
        target_type=target.type[:32],
        target_id=str(target.id)[:255],
        target_label=target.label[:500],
        reason=(reason or "").strip()[:MAX_REASON],
        details=details or {},
    )
    db.add(entry)
    await db.flush()
    return entry


async def list_audit(
    db: AsyncSession, *, action: str | None = None, limit: int = 50, offset: int = 0
) -> list[AuditEntry]:
    """Entries newest first, optionally only those of one action (or one area: ``user.``)."""
    query = select(AuditEntry)
    if action:
        if action.endswith("."):
            query = query.where(AuditEntry.action.startswith(action))
        else:
            query = query.where(AuditEntry.action == action)
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    return list(await db.scalars(query.limit(limit).offset(offset)))
