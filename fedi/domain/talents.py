"""Talents: the free tags on a profile that say what a person can do.

Talents are normalised once, here, so "Horeca", " horeca " and "HORECA" are one talent in
the directory, in talent matching and in the ``Hashtag`` objects we federate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import ServiceError
from models import Actor, ActorTalent, User

MAX_TALENT_LENGTH = 40
MAX_TALENTS = 20
# Characters that would break the comma-separated field or a hashtag link.
_FORBIDDEN = re.compile(r"[,#<>\"'`\x00-\x1f\x7f]")


def normalise_talent(raw: str) -> str:
    """One talent in canonical form: trimmed, lower case, inner whitespace collapsed.

    A leading ``#`` is dropped (people paste hashtags); the result may be empty.
    """
    text = raw.strip().lstrip("#").strip()
    text = _FORBIDDEN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def parse_talents(value: str | Iterable[str]) -> list[str]:
    """Normalise a comma-separated string (or a list) of talents and enforce the limits.

    Empty entries are dropped and duplicates removed keeping the first; raises
    ``ServiceError(field="talents")`` when a talent is too long or there are too many.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    seen: list[str] = []
    for item in items:
        tag = normalise_talent(str(item))
        if not tag or tag in seen:
            continue
        if len(tag) > MAX_TALENT_LENGTH:
            raise ServiceError(
                "A talent has at most %(max)s characters: %(talent)s",
                field="talents", max=MAX_TALENT_LENGTH, talent=tag[:MAX_TALENT_LENGTH] + "…",
            )
        seen.append(tag)
    if len(seen) > MAX_TALENTS:
        raise ServiceError(
            "You can list at most %(max)s talents.", field="talents", max=MAX_TALENTS
        )
    return seen


async def set_talents(db: AsyncSession, actor: Actor, tags: list[str]) -> None:
    """Replace an actor's talents by ``tags`` (already normalised with ``parse_talents``).

    Rows for talents that stay are kept rather than deleted and re-inserted: one flush
    inserts before it deletes, which would trip the (actor, tag) unique constraint.
    """
    await ensure_talents_loaded(db, actor)
    existing = {talent.tag: talent for talent in actor.talents}
    actor.talents = [existing.get(tag) or ActorTalent(tag=tag) for tag in tags]


async def ensure_talents_loaded(db: AsyncSession, actor: Actor) -> None:
    """Load ``actor.talents`` if it is not loaded yet (lazy loads cannot run under asyncio)."""
    if "talents" in inspect(actor).unloaded:
        await db.refresh(actor, attribute_names=["talents"])


def visible_people_query() -> Select[Actor]:
    """Local people whose account is approved and enabled: who the site shows.

    People whose registration still waits for approval, and disabled accounts, are shown
    nowhere (directory, profile pages, actor documents, WebFinger).
    """
    return (
        select(Actor)
        .join(User, User.actor_id == Actor.id)
        .where(
            Actor.local.is_(True),
            Actor.type == "Person",
            User.approved.is_(True),
            User.disabled.is_(False),
        )
    )


async def suggest_talents(db: AsyncSession, prefix: str = "", limit: int = 30) -> list[str]:
    """The most used talents of visible local people, optionally starting with ``prefix``."""
    count = func.count(ActorTalent.id)
    query = (
        select(ActorTalent.tag)
        .join(Actor, Actor.id == ActorTalent.actor_id)
        .join(User, User.actor_id == Actor.id)
        .where(
            Actor.local.is_(True),
            Actor.type == "Person",
            User.approved.is_(True),
            User.disabled.is_(False),
        )
        .group_by(ActorTalent.tag)
        .order_by(count.desc(), ActorTalent.tag)
        .limit(limit)
    )
    start = normalise_talent(prefix)
    if start:
        query = query.where(ActorTalent.tag.startswith(start, autoescape=True))
    return list((await db.scalars(query)).all())


async def talent_cloud(db: AsyncSession, limit: int = 40) -> list[tuple[str, int]]:
    """The most used talents with how many visible local people list them."""
    count = func.count(ActorTalent.id)
    rows = await db.execute(
        select(ActorTalent.tag, count)
        .join(Actor, Actor.id == ActorTalent.actor_id)
        .join(User, User.actor_id == Actor.id)
        .where(
            Actor.local.is_(True),
            Actor.type == "Person",
            User.approved.is_(True),
            User.disabled.is_(False),
        )
        .group_by(ActorTalent.tag)
        .order_by(count.desc(), ActorTalent.tag)
        .limit(limit)
    )
    return [(str(tag), int(n)) for tag, n in rows.all()]


async def people_with_talent(db: AsyncSession, tag: str, limit: int = 200) -> list[Actor]:
    """Visible local people listing the talent ``tag`` (normalised first), by name."""
    wanted = normalise_talent(tag)
    if not wanted:
        return []
    query = (
        visible_people_query()
        .join(ActorTalent, ActorTalent.actor_id == Actor.id)
        .where(ActorTalent.tag == wanted)
        .order_by(func.lower(func.coalesce(func.nullif(Actor.display_name, ""), Actor.username)))
        .limit(limit)
    )
    return list((await db.scalars(query)).all())
