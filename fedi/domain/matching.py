"""Talent matching, both ways: work that needs your talents, and people who could help.

* ``needs_your_talents``: open tasks (and initiatives) whose tags match a person's talents,
  in initiatives that person may see.
* ``who_could_help``: people, local and known remote, whose talents match what a task
  needs (the task's tags, else its initiative's tags).

Remote people's talents come from the ``Hashtag`` entries in the ``tag`` list of their
actor document (that is how we publish talents, and how Mastodon publishes featured tags);
``sync_remote_talents`` copies them into ``ActorTalent`` so both kinds of people match the
same way. The remote-actor refresh should call it (see the report of this module's author).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.initiative_access import can_view, who_may_view
from fedi.domain.talents import MAX_TALENT_LENGTH, MAX_TALENTS, normalise_talent, set_talents
from models import Actor, ActorTalent, Contribution, Initiative, Task, User


@dataclass
class WorkMatch:
    """An initiative with the open tasks that match, and which talents matched."""

    initiative: Initiative
    tags: list[str]
    tasks: list[tuple[Task, list[str]]] = field(default_factory=list)


def needed_tags(initiative: Initiative, task: Task | None = None) -> list[str]:
    """What a task needs: its own tags, else its initiative's tags."""
    if task is not None and task.tags:
        return list(task.tags)
    return list(initiative.tags or [])


async def talents_of(db: AsyncSession, actor: Actor) -> set[str]:
    """The talents of ``actor`` as stored."""
    rows = await db.scalars(select(ActorTalent.tag).where(ActorTalent.actor_id == actor.id))
    return set(rows.all())


async def needs_your_talents(
    db: AsyncSession, person: Actor, *, limit: int = 30
) -> list[WorkMatch]:
    """Open initiatives and tasks whose tags match ``person``'s talents, best match first."""
    talents = await talents_of(db, person)
    if not talents:
        return []
    initiatives = await db.scalars(
        select(Initiative).where(
            Initiative.deleted_at.is_(None), Initiative.archived_at.is_(None)
        ).order_by(Initiative.created_at.desc())
    )
    matches: list[WorkMatch] = []
    for initiative in initiatives.unique().all():
        tasks = await db.scalars(
            select(Task).where(
                Task.initiative_id == initiative.id, Task.completed_at.is_(None)
            ).order_by(Task.position, Task.id)
        )
        own = sorted(talents & set(initiative.tags or []))
        found = WorkMatch(initiative, own)
        for task in tasks.unique().all():
            hit = sorted(talents & set(task.tags or []))
            if hit:
                found.tasks.append((task, hit))
        if (found.tags or found.tasks) and await can_view(db, initiative, person):
            matches.append(found)
    matches.sort(
        key=lambda m: -len(set(m.tags) | {t for _task, tags in m.tasks for t in tags})
    )
    return matches[:limit]


async def who_could_help(
    db: AsyncSession, initiative: Initiative, task: Task | None = None, *, limit: int = 20
) -> list[tuple[Actor, list[str]]]:
    """People whose talents match what ``task`` (or the initiative) needs, most matches first.

    Local people must have an approved, enabled account; remote people must not be gone.
    People who already offered for this task are left out.
    """
    wanted = set(needed_tags(initiative, task))
    if not wanted:
        return []
    rows = await db.execute(
        select(Actor, ActorTalent.tag)
        .join(ActorTalent, ActorTalent.actor_id == Actor.id)
        .outerjoin(User, User.actor_id == Actor.id)
        .where(
            ActorTalent.tag.in_(sorted(wanted)),
            Actor.type == "Person",
            Actor.gone_at.is_(None),
            or_(
                Actor.local.is_(False),
                (User.approved.is_(True)) & (User.disabled.is_(False)),
            ),
        )
    )
    found: dict[int, tuple[Actor, list[str]]] = {}
    for actor, tag in rows.unique().all():
        found.setdefault(actor.id, (actor, []))[1].append(tag)
    if task is not None:
        offered = set(
            (await db.scalars(
                select(Contribution.actor_id).where(Contribution.task_id == task.id)
            )).all()
        )
        found = {key: value for key, value in found.items() if key not in offered}
    # Who may see the initiative, asked for everyone at once (not a query per person).
    visible = await who_may_view(db, initiative, [actor for actor, _tags in found.values()])
    people = [
        (actor, sorted(tags)) for actor, tags in found.values() if actor.id in visible
    ]
    people.sort(key=lambda item: (-len(item[1]), item[0].name.lower()))
    return people[:limit]


def talents_from_document(doc: dict[str, Any]) -> list[str]:
    """Talents from an actor document's ``Hashtag`` tags (``#zorg_inkoop`` -> "zorg inkoop")."""
    tags = doc.get("tag")
    if isinstance(tags, dict):
        tags = [tags]
    if not isinstance(tags, list):
        return []
    out: list[str] = []
    for entry in tags:
        if not isinstance(entry, dict) or entry.get("type") != "Hashtag":
            continue
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        # We publish spaces as underscores (Mastodon hashtags cannot hold spaces).
        talent = normalise_talent(name.replace("_", " "))
        if talent and len(talent) <= MAX_TALENT_LENGTH and talent not in out:
            out.append(talent)
    return out[:MAX_TALENTS]


async def sync_remote_talents(db: AsyncSession, actor: Actor) -> list[str]:
    """Copy a remote actor's talents from its stored document into ``ActorTalent``."""
    if actor.local:
        return sorted(await talents_of(db, actor))
    talents = talents_from_document(actor.raw or {})
    await set_talents(db, actor, talents)
    await db.flush()
    return talents
