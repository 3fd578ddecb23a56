"""Reading statuses for the Mastodon API: one by id, timelines pages, a thread's context.

Visibility is decided by the same rules as the web pages: ``fedi.domain.notes.can_see``
for notes and boosts, ``fedi.domain.initiative_access.can_view`` for initiatives.

Pages follow Mastodon's parameters: ``max_id`` (older than), ``since_id`` (newer than,
newest first), ``min_id`` (newer than, the ones just after it: paging forwards). Status ids
encode their time (:mod:`fedi.http.mastodon.status_ids`), so each source is read with a
time bound on its own time column and the exact comparison is done on the ids; sources
(notes, boosts, initiatives) are merged by id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fedi.domain.account_suspension import shown_author
from fedi.domain.initiative_access import can_view
from fedi.domain.notes import NOTE_TYPES, can_see
from fedi.http.mastodon import status_ids
from fedi.http.mastodon.status_entity import StatusItem
from models import Actor, ApObject, Follow, Initiative, Reaction, Tribe, TribeMember

# Read this many more rows than asked from each source: some fall to the exact id
# comparison or to a visibility check done in Python.
_SLACK = 20


# A select of any row shape (notes, boost-and-note pairs, initiatives).
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class PageRequest:
    """Mastodon's paging parameters, as sent."""

    max_id: str | None = None
    since_id: str | None = None
    min_id: str | None = None
    limit: int = 20

    @property
    def forwards(self) -> bool:
        """Whether the page is the statuses just after ``min_id`` (read oldest first)."""
        return self.min_id is not None


def _bound(value: str | None) -> datetime | None:
    key = status_ids.decode(value)
    return key.when if key is not None else None


def page_query(
    query: AnySelect, column: InstrumentedAttribute[Any], page: PageRequest
) -> AnySelect:
    """``query`` limited to the time window of ``page`` and ordered for it."""
    upper = _bound(page.max_id)
    if upper is not None:
        query = query.where(column < upper + timedelta(milliseconds=1))
    lower = _bound(page.min_id or page.since_id)
    if lower is not None:
        query = query.where(column >= lower)
    order = column.asc() if page.forwards else column.desc()
    return query.order_by(order).limit(page.limit + _SLACK)


def in_page(status_id: str, page: PageRequest) -> bool:
    """Whether a status id falls inside ``page``'s bounds."""
    return status_ids.is_before(status_id, page.max_id) and status_ids.is_after(
        status_id, page.min_id or page.since_id
    )


def cut(items: list[StatusItem], page: PageRequest) -> list[StatusItem]:
    """The page: items inside the bounds, ``limit`` of them, newest first."""
    inside = [item for item in items if in_page(item.id, page)]
    inside.sort(key=lambda item: (len(item.id), item.id), reverse=not page.forwards)
    chosen = inside[: page.limit]
    if page.forwards:
        chosen.reverse()
    return chosen


Visible = Callable[[StatusItem], Awaitable[bool]]


async def collect(
    db: AsyncSession,
    page: PageRequest,
    *,
    notes: AnySelect | None = None,
    boosts: AnySelect | None = None,
    initiatives: AnySelect | None = None,
    visible: Visible | None = None,
) -> list[StatusItem]:
    """One page from up to three sources: a query of ``ApObject``, of ``Reaction``
    (boosts, joined to their note) and of ``Initiative``."""
    items: list[StatusItem] = []
    if notes is not None:
        for note in (await db.scalars(page_query(notes, ApObject.published, page))).all():
            items.append(StatusItem(status_ids.NOTE, note=note))
    if boosts is not None:
        rows = (await db.execute(page_query(boosts, Reaction.created_at, page))).all()
        for reaction, note in rows:
            items.append(StatusItem(status_ids.REBLOG, note=note, reaction=reaction))
    if initiatives is not None:
        found = await db.scalars(page_query(initiatives, Initiative.created_at, page))
        for initiative in found.unique().all():
            items.append(StatusItem(status_ids.INITIATIVE, initiative=initiative))
    candidates = cut(items, PageRequest(page.max_id, page.since_id, page.min_id, 10**6))
    out: list[StatusItem] = []
    for item in candidates:
        if visible is not None and not await visible(item):
            continue
        out.append(item)
    return cut(out, page)


# ---------------------------------------------------------------- one status


async def load_item(db: AsyncSession, status_id: str) -> StatusItem | None:
    """The row behind a status id (None: no such status, or it is deleted)."""
    key = status_ids.decode(status_id)
    if key is None:
        return None
    if key.kind == status_ids.NOTE:
        note = await db.get(ApObject, key.row)
        if note is None or note.deleted_at is not None:
            return None
        return StatusItem(status_ids.NOTE, note=note)
    if key.kind == status_ids.REBLOG:
        reaction = await db.get(Reaction, key.row)
        if reaction is None or reaction.kind != "Announce":
            return None
        note = await db.scalar(select(ApObject).where(ApObject.ap_id == reaction.object_ap_id))
        if note is None or note.deleted_at is not None:
            return None
        return StatusItem(status_ids.REBLOG, note=note, reaction=reaction)
    initiative = await db.get(Initiative, key.row)
    if initiative is None or initiative.deleted_at is not None:
        return None
    return StatusItem(status_ids.INITIATIVE, initiative=initiative)


async def may_see(db: AsyncSession, viewer: Actor | None, item: StatusItem) -> bool:
    """Whether ``viewer`` (None: anonymous) may see the status."""
    if item.initiative is not None:
        return await can_view(db, item.initiative, viewer)
    if item.note is None or item.note.deleted_at is not None:
        return False
    return await can_see(db, viewer, item.note)


async def note_by_ap_id(db: AsyncSession, ap_id: str) -> ApObject | None:
    """A stored, not deleted note by its ActivityPub id."""
    note = await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))
    return note if note is not None and note.deleted_at is None else None


# ---------------------------------------------------------------- timelines


def _visible_for(db: AsyncSession, viewer: Actor | None) -> Visible:
    async def check(item: StatusItem) -> bool:
        return await may_see(db, viewer, item)

    return check


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


def _live_notes() -> Select[Any]:
    # A suspended author's posts are hidden on every timeline while the suspension lasts.
    return select(ApObject).where(
        ApObject.deleted_at.is_(None), ApObject.type.in_(sorted(NOTE_TYPES)),
        shown_author(ApObject.attributed_to_id),
    )


async def home(db: AsyncSession, viewer: Actor, page: PageRequest) -> list[StatusItem]:
    """The home timeline, by the rules of ``fedi.domain.notes.home_timeline``: one's own
    notes, notes of accounts one follows, direct messages to one, and boosts by accounts
    one follows and by the tribes one is a member of (a tribe distributes its members'
    posts by boosting them: they show as the tribe's reblogs)."""
    followed = select(Follow.followed_id).where(
        Follow.follower_id == viewer.id, Follow.accepted.is_(True)
    )
    # The local tribes one is a member of distribute their posts with boosts.
    my_tribes = (
        select(Tribe.actor_id)
        .join(TribeMember, TribeMember.tribe_id == Tribe.id)
        .where(TribeMember.actor_id == viewer.id, TribeMember.state == "active")
    )
    notes = _live_notes().where(
        or_(
            ApObject.attributed_to_id == viewer.id,
            ApObject.attributed_to_id.in_(followed)
            & ApObject.visibility.in_(("public", "unlisted", "followers")),
            # Direct messages: a coarse text match, confirmed by can_see().
            (ApObject.visibility == "direct")
            & cast(ApObject.payload, Text).like(_like_pattern(viewer.ap_id), escape="\\"),
        )
    )
    boosts = (
        select(Reaction, ApObject)
        .join(ApObject, ApObject.ap_id == Reaction.object_ap_id)
        .where(
            Reaction.kind == "Announce",
            or_(
                Reaction.actor_id.in_(followed),
                Reaction.actor_id.in_(my_tribes),
                Reaction.actor_id == viewer.id,
            ),
            ApObject.deleted_at.is_(None),
            ApObject.visibility.in_(("public", "unlisted")),
            shown_author(ApObject.attributed_to_id),
            shown_author(Reaction.actor_id),
        )
    )
    return await collect(db, page, notes=notes, boosts=boosts, visible=_visible_for(db, viewer))


def _public_initiatives(local_only: bool) -> Select[Any]:
    query = select(Initiative).where(
        Initiative.deleted_at.is_(None), Initiative.visibility == "public"
    )
    if local_only:
        query = query.where(Initiative.local.is_(True))
    return query


async def public(
    db: AsyncSession, viewer: Actor | None, page: PageRequest, *, local: bool, remote: bool,
    only_media: bool = False,
) -> list[StatusItem]:
    """The public timeline: public notes (``local``: from here only; ``remote``: from
    elsewhere only) and public initiatives, which Mastodon would show as Pages."""
    notes = _live_notes().where(ApObject.visibility == "public")
    if local:
        notes = notes.where(ApObject.local.is_(True))
    if remote:
        notes = notes.where(ApObject.local.is_(False))
    if only_media:
        notes = notes.where(cast(ApObject.payload, Text).like('%"attachment"%'))
    initiatives = None if remote or only_media else _public_initiatives(local)
    return await collect(
        db, page, notes=notes, initiatives=initiatives, visible=_visible_for(db, viewer)
    )


async def tag(
    db: AsyncSession, viewer: Actor | None, page: PageRequest, name: str, *, local: bool
) -> list[StatusItem]:
    """Public notes carrying the hashtag ``name`` and public initiatives tagged with it."""
    name = name.lstrip("#").lower()
    notes = _live_notes().where(
        ApObject.visibility == "public",
        func.lower(cast(ApObject.payload, Text)).like(_like_pattern("#" + name), escape="\\"),
    )
    if local:
        notes = notes.where(ApObject.local.is_(True))
    spaced = name.replace("_", " ")
    initiatives = _public_initiatives(local).where(
        or_(
            func.lower(cast(Initiative.tags, Text)).like(_like_pattern(name), escape="\\"),
            func.lower(cast(Initiative.tags, Text)).like(_like_pattern(spaced), escape="\\"),
        )
    )
    return await collect(
        db, page, notes=notes, initiatives=initiatives, visible=_visible_for(db, viewer)
    )


async def of_account(
    db: AsyncSession, viewer: Actor | None, author: Actor, page: PageRequest, *,
    exclude_replies: bool = False, exclude_reblogs: bool = False, only_media: bool = False,
) -> list[StatusItem]:
    """An account's statuses: its notes and boosts the viewer may see (and, for a person,
    the initiatives they started)."""
    notes = _live_notes().where(ApObject.attributed_to_id == author.id)
    if exclude_replies:
        notes = notes.where(ApObject.in_reply_to.is_(None))
    if only_media:
        notes = notes.where(cast(ApObject.payload, Text).like('%"attachment"%'))
    boosts = None
    if not exclude_reblogs and not only_media:
        boosts = (
            select(Reaction, ApObject)
            .join(ApObject, ApObject.ap_id == Reaction.object_ap_id)
            .where(
                Reaction.kind == "Announce", Reaction.actor_id == author.id,
                ApObject.deleted_at.is_(None),
            )
        )
    initiatives = None
    if not only_media:
        initiatives = select(Initiative).where(
            Initiative.deleted_at.is_(None), Initiative.creator_id == author.id
        )
    return await collect(
        db, page, notes=notes, boosts=boosts, initiatives=initiatives,
        visible=_visible_for(db, viewer),
    )


# ---------------------------------------------------------------- context


async def context(
    db: AsyncSession, viewer: Actor | None, note: ApObject, *, depth: int = 40,
    most: int = 200,
) -> tuple[list[StatusItem], list[StatusItem]]:
    """A note's thread among the notes we store: ancestors (oldest first) and descendants
    (depth first, each reply after its parent), those the viewer may see."""
    ancestors: list[StatusItem] = []
    seen = {note.ap_id}
    current = note
    for _ in range(depth):
        if not current.in_reply_to or current.in_reply_to in seen:
            break
        parent = await note_by_ap_id(db, current.in_reply_to)
        if parent is None:
            break
        seen.add(parent.ap_id)
        if await can_see(db, viewer, parent):
            ancestors.append(StatusItem(status_ids.NOTE, note=parent))
        current = parent
    ancestors.reverse()
    descendants: list[StatusItem] = []
    children: dict[str, list[ApObject]] = {}
    frontier = [note.ap_id]
    found = 0
    while frontier and found < most:
        rows = (
            await db.scalars(
                select(ApObject)
                .where(ApObject.in_reply_to.in_(frontier), ApObject.deleted_at.is_(None))
                .order_by(ApObject.published, ApObject.id)
            )
        ).all()
        frontier = []
        for row in rows:
            if row.ap_id in seen:
                continue
            seen.add(row.ap_id)
            children.setdefault(row.in_reply_to or "", []).append(row)
            frontier.append(row.ap_id)
            found += 1

    async def walk(ap_id: str) -> None:
        for child in children.get(ap_id, []):
            if await can_see(db, viewer, child):
                descendants.append(StatusItem(status_ids.NOTE, note=child))
                await walk(child.ap_id)

    await walk(note.ap_id)
    return ancestors, descendants


async def reactors(
    db: AsyncSession, note: ApObject, kind: str, *, limit: int = 40, max_id: int | None = None
) -> list[tuple[Reaction, Actor]]:
    """Who liked or boosted ``note``, newest first (paged by reaction id)."""
    query = (
        select(Reaction, Actor)
        .join(Actor, Actor.id == Reaction.actor_id)
        .where(Reaction.object_ap_id == note.ap_id, Reaction.kind == kind)
        .order_by(Reaction.id.desc())
        .limit(limit)
    )
    if max_id is not None:
        query = query.where(Reaction.id < max_id)
    return [(r, a) for r, a in (await db.execute(query)).all()]


def search_pattern(text: str) -> str:
    """A ``LIKE`` pattern finding ``text`` anywhere (wildcards in it escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


__all__ = [
    "PageRequest",
    "collect",
    "context",
    "cut",
    "home",
    "in_page",
    "load_item",
    "may_see",
    "note_by_ap_id",
    "of_account",
    "page_query",
    "public",
    "reactors",
    "search_pattern",
    "tag",
]
