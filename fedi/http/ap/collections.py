"""A person's public collections: outbox, followers and following, as paged OrderedCollections.

``GET /users/<u>/outbox`` (and ``/followers``, ``/following``) answers the collection with
``totalItems`` and a link to its ``first`` page; ``?page=N`` answers that page
(``OrderedCollectionPage`` with ``next``/``prev``), newest first, the way Mastodon pages
them. The outbox lists public posts and boosts only (``Create`` and ``Announce`` addressed
to Public), without notes that were deleted since.
"""

from __future__ import annotations

from quart import Blueprint, Response, request
from sqlalchemy import ColumnElement, func, select

from activitypub.builders import ordered_collection, ordered_collection_page
from fedi.domain import follows
from fedi.domain.profiles import find_local_person
from fedi.http.ap.actors import activity_json_response, json_not_found
from fedi.state import get_state
from models import ApObject, OutboxActivity

blueprint = Blueprint("ap_collections", __name__)

PAGE_SIZE = 20
OUTBOX_TYPES = ("Create", "Announce")


def _page_number() -> int | None:
    """The ``?page=N`` asked for (None for the collection itself); bad values mean 1."""
    raw = request.args.get("page")
    if raw is None:
        return None
    try:
        return max(1, min(int(raw), 100_000))
    except ValueError:
        return 1


def _collection(base: str, total: int, page: int | None, items: list[object]) -> Response:
    if page is None:
        return activity_json_response(ordered_collection(base, total, first=f"{base}?page=1"))
    has_next = page * PAGE_SIZE < total
    return activity_json_response(
        ordered_collection_page(
            f"{base}?page={page}",
            base,
            items,
            next=f"{base}?page={page + 1}" if has_next else None,
            prev=f"{base}?page={page - 1}" if page > 1 else None,
            total_items=total,
        )
    )


def _visible_outbox(actor_id: int) -> tuple[ColumnElement[bool], ...]:
    """Public posts and boosts of the actor, leaving out Creates of notes deleted since.

    Like Mastodon's, the outbox lists what belongs on a profile (Create, Announce); the
    Deletes, Updates and Likes went to their recipients and are not history to page through.
    """
    deleted = select(ApObject.ap_id).where(ApObject.deleted_at.is_not(None))
    return (
        OutboxActivity.actor_id == actor_id,
        OutboxActivity.public.is_(True),
        OutboxActivity.type.in_(OUTBOX_TYPES),
        ~(
            (OutboxActivity.type == "Create")
            & OutboxActivity.object_ap_id.in_(deleted)
        ),
    )


@blueprint.get("/users/<username>/outbox")
async def outbox(username: str) -> Response:
    """The public outbox of a local person."""
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        actor = await find_local_person(db, username)
        if actor is None:
            return json_not_found()
        base = f"{actor.ap_id}/outbox"
        conditions = _visible_outbox(actor.id)
        total = int(
            await db.scalar(select(func.count(OutboxActivity.id)).where(*conditions)) or 0
        )
        items: list[object] = []
        if page is not None:
            rows = await db.scalars(
                select(OutboxActivity)
                .where(*conditions)
                .order_by(OutboxActivity.created_at.desc(), OutboxActivity.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            for row in rows:
                item = dict(row.payload)
                item.pop("@context", None)
                items.append(item)
    return _collection(base, total, page, items)


@blueprint.get("/users/<username>/followers")
async def followers(username: str) -> Response:
    """Who follows a local person (actor ids, accepted follows only)."""
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        actor = await find_local_person(db, username)
        if actor is None:
            return json_not_found()
        total, people = await follows.followers_page(db, actor, page or 1, PAGE_SIZE)
        base = f"{actor.ap_id}/followers"
    return _collection(base, total, page, [p.ap_id for p in people])


@blueprint.get("/users/<username>/following")
async def following(username: str) -> Response:
    """Whom a local person follows (actor ids, accepted follows only)."""
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        actor = await find_local_person(db, username)
        if actor is None:
            return json_not_found()
        total, people = await follows.following_page(db, actor, page or 1, PAGE_SIZE)
        base = f"{actor.ap_id}/following"
    return _collection(base, total, page, [p.ap_id for p in people])
