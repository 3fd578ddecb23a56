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
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defaultload

from fedi.domain.account_suspension import shown_author
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

# What a list shows of a person: name, handle and links (see ``_without_talents``).
NAME_COLUMNS = (
    Actor.id, Actor.ap_id, Actor.type, Actor.local, Actor.username, Actor.domain,
    Actor.display_name, Actor.url, Actor.icon_url, Actor.avatar_path,
    Actor.gone_at,  # a deleted account is shown as "deleted account"
)


def _without_talents(*paths: Any) -> tuple[Any, ...]:
    """Loader options: the people these rows point at, with only what lists show of them.

    ``Actor.talents`` loads with a second query by default (profiles show them); lists of
    comments, supporters and history only show names, so that query is skipped (and reading
    the talents of such a row raises instead of quietly querying). Only ``NAME_COLUMNS`` are
    read: a person's row also holds keys and their stored JSON document, which a page of 80
    comments would otherwise decode 80 times.
    """
    return tuple(
        defaultload(path).load_only(*NAME_COLUMNS).raiseload(Actor.talents) for path in paths
    )


@dataclass(frozen=True)
class Viewer:
    """Who looks at a tribe's initiatives, as far as visibility goes."""

    actor: Actor | None
    blocked: bool = False
    member: bool = False


async def viewer_in(
    db: AsyncSession, tribe: Tribe, actor: Actor | None, *, role: str | bool | None = False,
    blocked: bool | None = None,
) -> Viewer:
    """What visibility needs to know about ``actor`` in ``tribe`` (None: anonymous).

    A page that has already read the viewer's role in a tribe of this server passes it as
    ``role`` (None: not an active member), and whether the tribe blocks them as ``blocked``,
    which saves asking again.
    """
    if actor is None:
        return Viewer(None)
    if blocked is None:
        blocked = await is_blocked(db, tribe, actor)
    if blocked:
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


async def newest_visible(
    db: AsyncSession, tribe: Tribe, viewer: Viewer, *, limit: int
) -> list[Any]:
    """The newest ``limit`` initiatives ``viewer`` may see, as rows of the few columns a
    short list shows (``id``, ``name``, ``summary``, ``phase``, ``archived_at``): no
    entities, creators or tribes to build for a tribe's about page."""
    if viewer.blocked:
        return []
    kind = "anonymous" if viewer.actor is None else "member" if viewer.member else "person"
    values = {
        "tribe_id": tribe.id, "limit": limit,
        "actor_id": viewer.actor.id if viewer.actor is not None else 0,
    }
    rows = await db.execute(_NEWEST_VISIBLE[kind], values)
    return list(rows.all())


async def recent_activity(
    db: AsyncSession, tribe: Tribe, viewer: Viewer, *, limit: int = 30
) -> list[tuple[Initiative, InitiativeUpdate]]:
    """The newest history entries of the tribe's initiatives that ``viewer`` may see."""
    rows = await db.execute(
        select(Initiative, InitiativeUpdate)
        .join(InitiativeUpdate, InitiativeUpdate.initiative_id == Initiative.id)
        .where(*_in_tribe(tribe, viewer), shown_entry())
        .options(*_without_talents(Initiative.creator, InitiativeUpdate.actor))
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(limit)
    )
    return [(initiative, entry) for initiative, entry in rows.unique().all()]


# ------------------------------------------------------------------ the conversation


@dataclass(frozen=True, slots=True)
class Person:
    """A person as the initiative page lists them (comment authors, supporters): the
    ``NAME_COLUMNS`` of their row, read as plain values. The page shows a hundred comments;
    building an ORM entity for each and for each author cost more than the rest of the
    query."""

    id: int
    ap_id: str
    type: str
    local: bool
    username: str
    domain: str
    display_name: str | None
    url: str | None
    icon_url: str | None
    avatar_path: str | None
    gone_at: datetime | None

    @property
    def name(self) -> str:
        """The name to show: the display name, falling back to the username."""
        return self.display_name or self.username

    @property
    def handle(self) -> str:
        """The ``name@host`` handle people type to find this person."""
        return f"{self.username}@{self.domain}"


@dataclass(frozen=True, slots=True)
class ShownComment:
    """A comment as a page shows it (its columns and its author), read as plain values
    (see ``Person``); changing a comment goes through ``Comment`` rows."""

    author: Person | None  # first: the rest are ``_SHOWN_COMMENT_COLUMNS`` in their order
    id: int
    initiative_id: int
    update_id: int | None
    task_id: int | None
    parent_id: int | None
    author_id: int
    content_source: str
    content_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


@dataclass
class Thread:
    """The comments shown for one thread (oldest first) and how many it has in all."""

    comments: list[ShownComment]
    total: int

    @property
    def hidden(self) -> int:
        """How many older comments are not shown."""
        return self.total - len(self.comments)


def shown_entry() -> ColumnElement[bool]:
    """SQL condition: a history entry is shown; a message (content, unlike "joined" or
    "task added") is not while its author is suspended, as Mastodon hides their posts."""
    return or_(InitiativeUpdate.kind != "message", shown_author(InitiativeUpdate.actor_id))


def _thread_conditions(initiative: Initiative) -> tuple[ColumnElement[bool], ...]:
    # The initiative's conversation: comments on it and under its updates (not on tasks).
    return (
        Comment.initiative_id == initiative.id, Comment.task_id.is_(None),
        shown_author(Comment.author_id),  # hidden while the author is suspended
    )


async def history_page(
    db: AsyncSession, initiative: Initiative, *, page: int, size: int
) -> tuple[list[InitiativeUpdate], bool]:
    """One page of the initiative's history, newest first, and whether older entries exist."""
    rows = await db.scalars(
        _HISTORY, {"initiative_id": initiative.id, "limit": size + 1, "offset": (page - 1) * size}
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

    The initiative's own thread may hold hundreds of comments: its newest are read by walking
    the (initiative, time) index backwards, its size counted once beside them.
    The small threads under the shown updates are picked and counted in one statement with
    window functions (SQLite and PostgreSQL both have them). Ranking every comment of a
    500-comment initiative that way cost ~3.4 ms per page view; this ~1 ms.
    """
    if on_initiative < 1 or per_update < 1:
        # A thread none of whose comments is shown still needs its size: count apart.
        shown = or_(Comment.update_id.is_(None), Comment.update_id.in_(update_ids))
        counts = await db.execute(
            select(Comment.update_id, func.count(Comment.id))
            .where(*_thread_conditions(initiative), shown)
            .group_by(Comment.update_id)
        )
        threads = {update_id: Thread([], int(total)) for update_id, total in counts.all()}
        if not threads:
            return threads
    else:
        threads = {}
    if on_initiative > 0:
        newest_first = (
            await db.execute(
                _NEWEST_ON_INITIATIVE, {"initiative_id": initiative.id, "limit": on_initiative}
            )
        ).all()
        if newest_first:
            own = threads.setdefault(None, Thread([], int(tuple(newest_first[0])[-1])))
            own.comments.extend(_shown_comment(row) for row in reversed(newest_first))
    if update_ids and per_update > 0:
        rows = await db.execute(
            _NEWEST_UNDER_UPDATES,
            {"initiative_id": initiative.id, "update_ids": list(update_ids),
             "per_update": per_update},
        )
        width = len(_SHOWN_COMMENT_COLUMNS)
        for row in rows.all():
            comment = _shown_comment(row, skip=1)
            thread = threads.get(comment.update_id)
            if thread is None:
                thread = threads[comment.update_id] = Thread([], int(row[width]))
            thread.comments.append(comment)
    return threads


def _shown_comment(row: Any, skip: int = 0) -> ShownComment:
    """A ``ShownComment`` from a row of its columns, ``skip`` more, then its author's
    (``NAME_COLUMNS``; anything after those is not the comment's)."""
    values: tuple[Any, ...] = tuple(row)
    width = len(_SHOWN_COMMENT_COLUMNS)
    person = values[width + skip : width + skip + len(NAME_COLUMNS)]
    author = Person(*person) if person[0] is not None else None
    return ShownComment(author, *values[:width])


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
) -> list[Person]:
    """The first ``limit`` supporters (oldest first); the page shows the total beside them."""
    rows = await db.execute(_FIRST_SUPPORTERS, {"initiative_id": initiative.id, "limit": limit})
    return [Person(*row) for row in rows.all()]


async def partners_and_requests(
    db: AsyncSession, initiative: Initiative, *, with_requests: bool
) -> tuple[list[InitiativePartner], list[InitiativePartner]]:
    """The active partner rows (oldest first) and, ``with_requests``, the open partnership
    requests (oldest first): one statement, people without their talents."""
    states = ("active", "requested") if with_requests else ("active",)
    rows = await db.scalars(
        _PARTNERS, {"initiative_id": initiative.id, "states": list(states)}
    )
    found = list(rows.unique().all())
    active = [row for row in found if row.state == "active"]
    requests = sorted(
        (row for row in found if row.state == "requested"),
        key=lambda row: (
            (False, row.requested_at, row.id) if row.requested_at is not None
            else (True, None, row.id)
        ),
    )
    return active, requests


# ------------------------------------------------------------------ statements built once
# The initiative page runs these on every view: built (and their cache keys computed) once,
# with the values bound per call.

_INITIATIVE_ID = bindparam("initiative_id", type_=Integer)

_HISTORY = (
    select(InitiativeUpdate)
    .where(InitiativeUpdate.initiative_id == _INITIATIVE_ID, shown_entry())
    .options(*_without_talents(InitiativeUpdate.actor))
    .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)

_FIRST_SUPPORTERS = (
    select(*NAME_COLUMNS)  # plain values, as ``Person``
    .select_from(InitiativeSupporter)
    .join(Actor, Actor.id == InitiativeSupporter.actor_id)
    .where(InitiativeSupporter.initiative_id == _INITIATIVE_ID)
    .order_by(InitiativeSupporter.since, InitiativeSupporter.id)
    .limit(bindparam("limit", type_=Integer))
)

_PARTNERS = (
    select(InitiativePartner)
    .where(
        InitiativePartner.initiative_id == _INITIATIVE_ID,
        InitiativePartner.state.in_(bindparam("states", expanding=True)),
    )
    .options(*_without_talents(InitiativePartner.actor))
    .order_by(InitiativePartner.since, InitiativePartner.id)
)


def _newest_under_updates_statement() -> Any:
    """The newest comments under each of some updates, with each thread's size."""
    rank = (
        func.row_number()
        .over(
            partition_by=Comment.update_id,
            order_by=(Comment.created_at.desc(), Comment.id.desc()),
        )
        .label("rank")
    )
    # Each thread's size rides along with its comments (every thread shows at least one).
    size = func.count(Comment.id).over(partition_by=Comment.update_id).label("size")
    newest = (
        select(Comment.id.label("id"), rank, size)
        .where(
            Comment.update_id.in_(bindparam("update_ids", expanding=True)),
            Comment.initiative_id == _INITIATIVE_ID,
            Comment.task_id.is_(None),
            shown_author(Comment.author_id),
        )
        .subquery()
    )
    # Plain columns, not entities (see ``ShownComment``): the comment's, the thread's size,
    # then the author's (``NAME_COLUMNS``, all NULL for a comment without an author).
    return (
        select(*_SHOWN_COMMENT_COLUMNS, newest.c.size, *NAME_COLUMNS)
        .select_from(Comment)
        .join(newest, newest.c.id == Comment.id)
        .outerjoin(Actor, Actor.id == Comment.author_id)
        .where(newest.c.rank <= bindparam("per_update", type_=Integer))
        .order_by(Comment.created_at, Comment.id)
    )


# The columns of ``ShownComment`` in its order (the author comes apart).
_SHOWN_COMMENT_COLUMNS = (
    Comment.id, Comment.initiative_id, Comment.update_id, Comment.task_id, Comment.parent_id,
    Comment.author_id, Comment.content_source, Comment.content_html, Comment.created_at,
    Comment.edited_at, Comment.deleted_at,
)


def _own_thread(comment: Any) -> tuple[ColumnElement[bool], ...]:
    """The initiative's own thread (not under an update, not on a task), shown authors only,
    for ``Comment`` or an alias of it."""
    return (
        comment.initiative_id == _INITIATIVE_ID, comment.update_id.is_(None),
        comment.task_id.is_(None), shown_author(comment.author_id),
    )


_COUNTED = aliased(Comment)
# The initiative's own thread, newest first: the (initiative, created_at) index read
# backwards; the thread's size (one uncorrelated subquery, counted once) ends each row.
_NEWEST_ON_INITIATIVE = (
    select(
        *_SHOWN_COMMENT_COLUMNS, *NAME_COLUMNS,
        select(func.count(_COUNTED.id)).where(*_own_thread(_COUNTED)).scalar_subquery(),
    )
    .select_from(Comment)
    .outerjoin(Actor, Actor.id == Comment.author_id)
    .where(*_own_thread(Comment))
    .order_by(Comment.created_at.desc(), Comment.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_NEWEST_UNDER_UPDATES = _newest_under_updates_statement()


def _newest_visible_statement(kind: str) -> Any:
    """``newest_visible``'s statement for one kind of viewer (``visible_condition`` with the
    viewer's id bound): anonymous, a person, or a member of the tribe."""
    allowed: list[ColumnElement[bool]] = [Initiative.visibility == "public"]
    if kind != "anonymous":
        allowed.append(
            Initiative.id.in_(
                select(InitiativePartner.initiative_id).where(
                    InitiativePartner.actor_id == bindparam("actor_id"),
                    InitiativePartner.state == "active",
                )
            )
        )
    if kind == "member":
        allowed.append(Initiative.visibility == "members")
    return (
        select(
            Initiative.id, Initiative.name, Initiative.summary, Initiative.phase,
            Initiative.archived_at,
        )
        .where(
            Initiative.tribe_id == bindparam("tribe_id"),
            Initiative.deleted_at.is_(None),
            or_(*allowed),
        )
        .order_by(Initiative.created_at.desc(), Initiative.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


_NEWEST_VISIBLE = {
    kind: _newest_visible_statement(kind) for kind in ("anonymous", "person", "member")
}
