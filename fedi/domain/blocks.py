"""Domain blocks: whether a remote host is refused, including its subdomains and any port."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import DomainBlock


def block_candidates(host: str) -> list[str]:
    """The block entries that would cover ``host``: itself, without port, and parent domains.

    A block of ``example.org`` covers ``social.example.org`` and ``example.org:8443`` too,
    as admins expect from Mastodon's domain blocks.
    """
    host = host.lower().strip()
    if not host:
        return []
    out = [host]
    bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if bare != host:
        out.append(bare)
    parts = bare.split(".")
    for i in range(1, len(parts) - 1):
        out.append(".".join(parts[i:]))
    return out


# Built once: every published activity asks (constructing it cost as much as running it).
_BLOCKED = select(DomainBlock.domain).where(
    DomainBlock.domain.in_(bindparam("names", expanding=True))
)


async def blocked_hosts(db: AsyncSession, hosts: set[str]) -> set[str]:
    """The subset of ``hosts`` refused by a domain block."""
    candidates = {host: block_candidates(host) for host in hosts if host}
    names = {name for values in candidates.values() for name in values}
    if not names:
        return set()
    rows = set(await db.scalars(_BLOCKED, {"names": sorted(names)}))
    blocked = {row.lower() for row in rows}
    return {host for host, values in candidates.items() if blocked.intersection(values)}


async def is_blocked(db: AsyncSession, host: str) -> bool:
    """Whether ``host`` is refused by a domain block."""
    return bool(await blocked_hosts(db, {host}))
