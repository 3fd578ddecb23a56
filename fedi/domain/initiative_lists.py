"""A tribe's initiatives as one viewer may see them, and an initiative's conversation:
filtered, counted and paged in SQL, so pages stay light however much a tribe holds.

``initiative_access.can_view`` answers for one initiative; a tribe with a thousand
initiatives cannot ask it a thousand times per page view. The same rules as one SQL
condition:

* a viewer the tribe blocks sees none;
* ``public`` initiatives everyone;
* ``members`` initiatives the tribe's members (``initiative_access.is_tribe_member``: for a
  tribe on another server, an accepted follow of its Group), and the initiative's partners;
* ``private`` initiatives their active partners only;
* deleted initiatives nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain.initiative_access import is_tribe_member
from fedi.domain.tribe_access import is_blocked
from models import (
    Actor,
    Comment,
    Initiative,
    InitiativePartner,
    InitiativeSupporter,
    InitiativeUpdate,
    Tribe,
)


def _without_talents(*paths: Any) -> tuple[Any, ...]:
    """Loader options: the people these rows point at, without their talents.

    ``Actor.talents`` loads with a second query by default (profiles show them); lists of
    comments, supporters and history only show names, so that query is skipped (and reading
    the talents of such a row raises instead of quietly querying).
    """
    return tuple(defaultload(path).raiseload(Actor.talents) for path in paths)


@dataclass(frozen=True)
class Viewer:
    """Who looks at a tribe's initiatives, as far as visibility goes."""

    actor: Actor | None
    blocked: bool = False
    member: bool = False


async def viewer_in(
    db: AsyncSession, tribe: Tribe, actor: Actor | None, *, role: str | bool | None = False
) -> Viewer:
    """What visibility needs to know about ``actor`` in ``tribe`` (None: anonymous).

    A page that has already read the viewer's role in a tribe of this server passes it as
    ``role`` (None: not an active member), which saves asking again.
    """
    if actor is None:
        return Viewer(None)
    if await is_blocked(db, tribe, actor):
        return Viewer(actor, blocked=True)
    if role is not False and tribe.actor.local:
        return Viewer(actor, member=role is not None)
    return Viewer(actor, member=await is_tribe_member(db, tribe, actor))


def visible_condition(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL condition "``viewer`` may see this initiative" (see the module rules)."""
    if viewer.blocked:
        return false()
    allowed: list[ColumnElement[bool]] = [Initiative.visibility == "public"]
    if viewer.actor is not None:
        allowed.append(
            Initiative.id.in_(
                select(InitiativePartner.initiative_id).where(
                    InitiativePartner.actor_id == viewer.actor.id,
                    InitiativePartner.state == "active",
                )
            )
        )
        if viewer.member:
            allowed.append(Initiative.visibility == "members")
    return or_(*allowed)


def _in_tribe(tribe: Tribe, viewer: Viewer) -> tuple[ColumnElement[bool], ...]:
    return (
        Initiative.tribe_id == tribe.id,
        Initiative.deleted_at.is_(None),
        visible_condition(viewer),
    )


async def count_visible(db: AsyncSession, tribe: Tribe, viewer: Viewer) -> int:
    """How many of the tribe's initiatives ``viewer`` may see."""
    count = await db.scalar(select(func.count(Initiative.id)).where(*_in_tribe(tribe, viewer)))
    return int(count or 0)


async def visible_page(
    db: AsyncSession, tribe: Tribe, viewer: Viewer, *, limit: int, offset: int = 0
) -> list[Initiative]:
    """The tribe's initiatives ``viewer`` may see, newest first, ``limit`` from ``offset``."""
    rows = await db.scalars(
        select(Initiative)
        .where(*_in_tribe(tribe, viewer))
        .options(*_without_talents(Initiative.creator))
        .order_by(Initiative.created_at.desc(), Initiative.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.unique().all())


async def recent_activity(
    db: AsyncSession, tribe: Tribe, viewer: Viewer, *, limit: int = 30
) -> list[tuple[Initiative, InitiativeUpdate]]:
    """The newest history entries of the tribe's initiatives that ``viewer`` may see."""
    rows = await db.execute(
        select(Initiative, InitiativeUpdate)
        .join(InitiativeUpdate, InitiativeUpdate.initiative_id == Initiative.id)
        .where(*_in_tribe(tribe, viewer))
        .options(*_without_talents(Initiative.creator, InitiativeUpdate.actor))
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(limit)
    )
    return [(initiative, entry) for initiative, entry in rows.unique().all()]


# ------------------------------------------------------------------ the conversation


@dataclass
class Thread:
    """The comments shown for one thread (oldest first) and how many it has in all."""

    comments: list[Comment]
    total: int

    @property
    def hidden(self) -> int:
        """How many older comments are not shown."""
        return self.total - len(self.comments)


def _thread_conditions(initiative: Initiative) -> tuple[ColumnElement[bool], ...]:
    # The initiative's conversation: comments on it and under its updates (not on tasks).
    return (Comment.initiative_id == initiative.id, Comment.task_id.is_(None))


async def history_page(
    db: AsyncSession, initiative: Initiative, *, page: int, size: int
) -> tuple[list[InitiativeUpdate], bool]:
    """One page of the initiative's history, newest first, and whether older entries exist."""
    rows = await db.scalars(
        select(InitiativeUpdate)
        .where(InitiativeUpdate.initiative_id == initiative.id)
        .options(*_without_talents(InitiativeUpdate.actor))
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(size + 1)
        .offset((page - 1) * size)
    )
    entries = list(rows.unique().all())
    return entries[:size], len(entries) > size


async def newest_comments(
    db: AsyncSession, initiative: Initiative, update_ids: list[int], *, on_initiative: int,
    per_update: int,
) -> dict[int | None, Thread]:
    """The newest comments of the threads a page shows, oldest first, with each thread's size:
    ``on_initiative`` of the comments on the initiative itself (key None) and
    ``per_update`` under each of ``update_ids``.

    Two statements whatever the number of comments: a count per thread, and the newest of
    each thread picked with a window function (SQLite and PostgreSQL both have them).
    """
    shown = or_(Comment.update_id.is_(None), Comment.update_id.in_(update_ids))
    counts = await db.execute(
        select(Comment.update_id, func.count(Comment.id))
        .where(*_thread_conditions(initiative), shown)
        .group_by(Comment.update_id)
    )
    threads = {update_id: Thread([], int(total)) for update_id, total in counts.all()}
    if not threads:
        return threads
    rank = (
        func.row_number()
        .over(
            partition_by=Comment.update_id,
            order_by=(Comment.created_at.desc(), Comment.id.desc()),
        )
        .label("rank")
    )
    newest = (
        select(Comment.id.label("id"), Comment.update_id.label("update_id"), rank)
        .where(*_thread_conditions(initiative), shown)
        .subquery()
    )
    limit = case((newest.c.update_id.is_(None), on_initiative), else_=per_update)
    rows = await db.scalars(
        select(Comment)
        .join(newest, newest.c.id == Comment.id)
        .where(newest.c.rank <= limit)
        .options(*_without_talents(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    for comment in rows.unique().all():
        threads[comment.update_id].comments.append(comment)
    return threads


def _one_thread(initiative: Initiative, update_id: int | None) -> tuple[ColumnElement[bool], ...]:
    return (
        *_thread_conditions(initiative),
        Comment.update_id.is_(None) if update_id is None else Comment.update_id == update_id,
    )


async def count_thread(db: AsyncSession, initiative: Initiative, update_id: int | None) -> int:
    """How many comments one thread has (None: the comments on the initiative itself)."""
    count = await db.scalar(
        select(func.count(Comment.id)).where(*_one_thread(initiative, update_id))
    )
    return int(count or 0)


async def thread_page(
    db: AsyncSession, initiative: Initiative, update_id: int | None, *, page: int, size: int
) -> list[Comment]:
    """One page of a thread, oldest first (page 1 holds the oldest comments)."""
    rows = await db.scalars(
        select(Comment)
        .where(*_one_thread(initiative, update_id))
        .options(*_without_talents(Comment.author))
        .order_by(Comment.created_at, Comment.id)
        .limit(size)
        .offset((page - 1) * size)
    )
    return list(rows.unique().all())


async def first_supporters(
    db: AsyncSession, initiative: Initiative, *, limit: int
) -> list[Actor]:
    """The first ``limit`` supporters (oldest first); the page shows the total beside them."""
    rows = await db.scalars(
        select(InitiativeSupporter)
        .where(InitiativeSupporter.initiative_id == initiative.id)
        .options(*_without_talents(InitiativeSupporter.actor))
        .order_by(InitiativeSupporter.since, InitiativeSupporter.id)
        .limit(limit)
    )
    return [row.actor for row in rows.unique().all()]
