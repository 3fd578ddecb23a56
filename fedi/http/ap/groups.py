"""A tribe on the wire: its ``Group`` actor document, inbox and collections.

``/tribes/<slug>`` is both the tribe's page and the Group's id: the page view in
``fedi.http.web.tribes`` hands requests that ask for ActivityPub JSON to
:func:`group_actor_response`. The collections are paged ``OrderedCollection``s
(``?page=N``, newest first) like a person's; ``moderators`` and ``featured`` are small and
served whole with ``orderedItems``, which is how Lemmy and Mastodon read them.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import ordered_collection, ordered_collection_page
from fedi.domain import follows, tribes
from fedi.domain.account_suspension import suspended_objects
from fedi.domain.tribe_members import list_members
from fedi.federation.documents.cache import cached_document, group_key
from fedi.federation.documents.groups import group_document
from fedi.http.ap.actors import (
    activity_json_bytes,
    activity_json_response,
    json_not_found,
)
from fedi.http.ap.inbox import receive
from fedi.http.web.csrf import csrf_exempt
from fedi.http.web.request_db import request_session
from fedi.state import get_state
from models import OutboxActivity, Tribe, TribeAnnounce, TribeMember

blueprint = Blueprint("ap_groups", __name__)

PAGE_SIZE = 20
# The roles listed as the Group's moderators (Lemmy) and on the tribe page as its core team.
TEAM_ROLES = ("admin", "moderator")


def _page_number() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return None
    try:
        return max(1, min(int(raw), 100_000))
    except ValueError:
        return 1


def _collection(base: str, total: int, page: int | None, items: list[Any]) -> Response:
    if page is None:
        return activity_json_response(ordered_collection(base, total, first=f"{base}?page=1"))
    return activity_json_response(
        ordered_collection_page(
            f"{base}?page={page}",
            base,
            items,
            next=f"{base}?page={page + 1}" if page * PAGE_SIZE < total else None,
            prev=f"{base}?page={page - 1}" if page > 1 else None,
            total_items=total,
        )
    )


def _whole(base: str, items: list[Any]) -> Response:
    return activity_json_response(ordered_collection(base, len(items), ordered_items=items))


async def find_local_tribe(db: AsyncSession, slug: str) -> Tribe | None:
    """The tribe ``slug`` if it is one of ours; None for a missing or a remote tribe row.

    A remote tribe's row (slug ``name@host``) is only our copy of a Group elsewhere: its
    documents and collections are served by its own server, never by us.
    """
    tribe = await tribes.find_tribe(db, slug)
    if tribe is None or not tribe.actor.local:
        return None
    return tribe


async def group_actor_response(slug: str) -> Response:
    """The ``Group`` document of the tribe ``slug``, or a JSON 404.

    Served from the document cache (``fedi.federation.documents.cache``) when it holds it.
    """
    state = get_state()

    async def build() -> tuple[int, dict[str, Any]] | None:
        async with request_session() as db:
            tribe = await find_local_tribe(db, slug)
            if tribe is None:
                return None
            return tribe.actor_id, group_document(state.settings, tribe)

    body = await cached_document(state, group_key(slug), build)
    if body is None:
        return json_not_found()
    return activity_json_bytes(body)


@blueprint.post("/tribes/<slug>/inbox")
@csrf_exempt
async def inbox(slug: str) -> Response:
    """The Group's own inbox (the same checks and queue as every inbox)."""
    return await receive(slug)


def _outbox_conditions(tribe: Tribe) -> tuple[ColumnElement[bool], ...]:
    undone = select(TribeAnnounce.announce_ap_id).where(
        TribeAnnounce.tribe_id == tribe.id, TribeAnnounce.undone_at.is_not(None)
    )
    hidden = select(TribeAnnounce.announce_ap_id).where(
        TribeAnnounce.tribe_id == tribe.id, TribeAnnounce.object_ap_id.in_(suspended_objects())
    )
    return (
        OutboxActivity.actor_id == tribe.actor_id,
        OutboxActivity.public.is_(True),
        OutboxActivity.type == "Announce",
        OutboxActivity.ap_id.not_in(undone),
        # Posts of a suspended author are left out while the suspension lasts (the tribe
        # announced the post's Create, so the announce says which post it was about).
        OutboxActivity.ap_id.not_in(hidden),
    )


@blueprint.get("/tribes/<slug>/outbox")
async def outbox(slug: str) -> Response:
    """Everything the tribe announced (and did not take back), newest first."""
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        conditions = _outbox_conditions(tribe)
        total = int(await db.scalar(select(func.count(OutboxActivity.id)).where(*conditions)) or 0)
        items: list[Any] = []
        if page is not None:
            rows = await db.scalars(
                select(OutboxActivity)
                .where(*conditions)
                .order_by(OutboxActivity.created_at.desc(), OutboxActivity.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            items = [{k: v for k, v in r.payload.items() if k != "@context"} for r in rows]
        base = f"{tribe.actor.ap_id}/outbox"
    return _collection(base, total, page, items)


@blueprint.get("/tribes/<slug>/followers")
async def followers(slug: str) -> Response:
    """Who follows the tribe (accepted follows: its members and subscribers)."""
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        total, people = await follows.followers_page(db, tribe.actor, page or 1, PAGE_SIZE)
        base = f"{tribe.actor.ap_id}/followers"
    return _collection(base, total, page, [p.ap_id for p in people])


@blueprint.get("/tribes/<slug>/following")
async def following(slug: str) -> Response:
    """A tribe follows nobody; the collection exists because actors must name one."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        base = f"{tribe.actor.ap_id}/following"
    return _collection(base, 0, _page_number(), [])


async def members_response(slug: str) -> Response:
    """The active members (Mobilizon's ``members`` collection), admins first.

    ``/tribes/<slug>/members`` is also the members page: the page view in
    ``fedi.http.web.tribes`` hands ActivityPub requests here.
    """
    state = get_state()
    page = _page_number()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        total = int(
            await db.scalar(
                select(func.count(TribeMember.id)).where(
                    TribeMember.tribe_id == tribe.id, TribeMember.state == "active"
                )
            )
            or 0
        )
        items: list[Any] = []
        if page is not None:
            rows = await list_members(
                db, tribe, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            items = [m.actor.ap_id for m in rows]
        base = f"{tribe.actor.ap_id}/members"
    return _collection(base, total, page, items)


@blueprint.get("/tribes/<slug>/moderators")
async def moderators(slug: str) -> Response:
    """Admins and the core team: the Group's ``attributedTo`` (Lemmy's moderators)."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        rows = await list_members(db, tribe, limit=500, roles=TEAM_ROLES)
        items = [m.actor.ap_id for m in rows]
        base = f"{tribe.actor.ap_id}/moderators"
    return _whole(base, items)


@blueprint.get("/tribes/<slug>/featured")
async def featured(slug: str) -> Response:
    """Pinned posts (none yet); Mastodon fetches this for every Group it shows."""
    state = get_state()
    async with state.db.session() as db:
        tribe = await find_local_tribe(db, slug)
        if tribe is None:
            return json_not_found()
        base = f"{tribe.actor.ap_id}/featured"
    return _whole(base, [])
