"""Instance-wide domain blocks: admins refuse a remote server outright.

A block makes the inbox answer 403 for the domain (and its subdomains, any port), stops
deliveries to it, and severs follows in both directions, as Mastodon's "suspend" does, so
nothing of ours keeps flowing to a server the admins have cut off.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.audit import Target, record_audit
from fedi.domain.blocks import block_candidates
from fedi.domain.errors import Conflict, NotFound, ServiceError
from fedi.settings import Settings
from models import Actor, Delivery, DomainBlock, Follow, User

# A host name with an optional port; letters, digits, dots, hyphens (IDNs in punycode).
_DOMAIN = re.compile(r"^(?=.{1,253}(:\d{1,5})?$)[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$")
MAX_REASON = 1000


def normalise_domain(raw: str) -> str:
    """``Social.Example.ORG`` or ``https://social.example.org/`` -> ``social.example.org``."""
    value = raw.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value).split("/", 1)[0].lstrip("@")
    if "@" in value:  # a handle was pasted: keep its host
        value = value.rsplit("@", 1)[1]
    if not _DOMAIN.match(value):
        raise ServiceError(
            "This is not a domain name, such as social.example.org.", field="domain"
        )
    return value


async def list_blocks(db: AsyncSession) -> list[DomainBlock]:
    """Every blocked domain, alphabetically."""
    return list(await db.scalars(select(DomainBlock).order_by(DomainBlock.domain)))


async def block_domain(
    db: AsyncSession, settings: Settings, raw_domain: str, *, reason: str = "",
    acting: User | None = None,
) -> DomainBlock:
    """Block a domain: refuse its activities, cancel deliveries to it, sever follows."""
    domain = normalise_domain(raw_domain)
    if domain in {settings.host, settings.domain}:
        raise ServiceError("An instance cannot block itself.", field="domain")
    if await db.get(DomainBlock, domain) is not None:
        raise Conflict("%(domain)s is already blocked.", field="domain", domain=domain)
    block = DomainBlock(domain=domain, reason=reason.strip()[:MAX_REASON])
    db.add(block)
    await db.flush()
    await _cut_off(db, domain)
    await record_audit(
        db, "domain.block", by=acting, target=Target("domain", domain, domain), reason=block.reason
    )
    return block


async def unblock_domain(
    db: AsyncSession, raw_domain: str, *, acting: User | None = None
) -> None:
    """Lift a block; severed follows stay severed (people follow again if they want)."""
    domain = normalise_domain(raw_domain)
    block = await db.get(DomainBlock, domain)
    if block is None:
        raise NotFound("%(domain)s is not blocked.", field="domain", domain=domain)
    await record_audit(
        db, "domain.unblock", by=acting, target=Target("domain", domain, domain),
        details={"blocked_for": block.reason},
    )
    await db.delete(block)


def _covered(host: str, domain: str) -> bool:
    return domain in block_candidates(host)


async def _cut_off(db: AsyncSession, domain: str) -> None:
    """Cancel pending deliveries to hosts the block covers and drop their follows."""
    reason = f"domain blocked by the instance admins ({domain})"
    pending_domains = set(
        await db.scalars(
            select(Delivery.domain).where(Delivery.state == "pending").distinct()
        )
    )
    covered_domains = sorted(host for host in pending_domains if _covered(host, domain))
    if covered_domains:
        await db.execute(
            update(Delivery)
            .where(Delivery.state == "pending", Delivery.domain.in_(covered_domains))
            .values(state="failed", last_error=reason, claimed_until=None)
        )
    actor_domains = set(
        await db.scalars(select(Actor.domain).where(Actor.local.is_(False)).distinct())
    )
    covered_actors = sorted(host for host in actor_domains if _covered(host, domain))
    if covered_actors:
        remote_ids = select(Actor.id).where(
            Actor.local.is_(False), Actor.domain.in_(covered_actors)
        )
        await db.execute(
            delete(Follow).where(
                or_(Follow.follower_id.in_(remote_ids), Follow.followed_id.in_(remote_ids))
            )
        )
