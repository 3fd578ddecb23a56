"""Timelines: home, public (``local``/``remote``), hashtag, and one account's statuses.

Each answers a page of statuses newest first with a ``Link`` header (``next``: older,
``max_id``; ``prev``: newer, ``min_id``), the way apps page forwards and back.
"""

from __future__ import annotations

from typing import Any

from quart import Response
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.http.mastodon import status_queries
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    ApiParams,
    api_json,
    api_params,
    api_user,
    endpoint_url,
    optional_api_user,
    paginate_link,
)
from fedi.http.mastodon.status_entity import StatusItem, render_statuses
from fedi.http.mastodon.status_queries import PageRequest
from fedi.state import get_state
from models import Actor

blueprint = ApiBlueprint("mastodon_timelines", __name__)




def page_request(params: ApiParams, *, default: int = 20, highest: int = 40) -> PageRequest:
    """Mastodon's paging parameters from a request."""
    return PageRequest(
        max_id=params.str("max_id") or None,
        since_id=params.str("since_id") or None,
        min_id=params.str("min_id") or None,
        limit=params.int("limit", default, lowest=1, highest=highest),
    )


def _kept_params(params: ApiParams, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: params.str(name) for name in names if name in params}


async def _answer(
    db: AsyncSession, viewer: Actor | None, items: list[StatusItem], params: ApiParams,
    keep: tuple[str, ...] = (),
) -> Response:
    entities = await render_statuses(db, get_state().settings, viewer, items)
    link = paginate_link(
        [e["id"] for e in entities], endpoint_url(), _kept_params(params, ("limit", *keep))
    )
    return api_json(entities, headers={"Link": link} if link else None)


@blueprint.get("/api/v1/timelines/home")
async def home() -> Response:
    """Home: one's own posts, those of people and tribes one follows, boosts by them,
    and direct messages to one."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:statuses",))
        items = await status_queries.home(db, me, page_request(params))
        return await _answer(db, me, items, params)


@blueprint.get("/api/v1/timelines/public")
async def public() -> Response:
    """Public posts (``local=true``: from this instance only; ``remote=true``: from other
    servers only; ``only_media``), and public initiatives."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        items = await status_queries.public(
            db, viewer, page_request(params), local=params.bool("local"),
            remote=params.bool("remote"), only_media=params.bool("only_media"),
        )
        return await _answer(db, viewer, items, params, ("local", "remote", "only_media"))


@blueprint.get("/api/v1/timelines/tag/<hashtag>")
async def tag(hashtag: str) -> Response:
    """Public posts and initiatives with a hashtag."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        items = await status_queries.tag(
            db, viewer, page_request(params), hashtag, local=params.bool("local")
        )
        return await _answer(db, viewer, items, params, ("local",))


@blueprint.get("/api/v1/accounts/<account_id>/statuses")
async def account_statuses(account_id: str) -> Response:
    """An account's statuses the viewer may see (``exclude_replies``, ``exclude_reblogs``,
    ``only_media``; ``pinned=true`` is always empty: pinning is not built)."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        author = await db.get(Actor, int(account_id)) if account_id.isdigit() else None
        if author is None:
            raise ApiError(404, "Record not found")
        if params.bool("pinned"):
            return api_json([])
        items = await status_queries.of_account(
            db, viewer, author, page_request(params),
            exclude_replies=params.bool("exclude_replies"),
            exclude_reblogs=params.bool("exclude_reblogs"),
            only_media=params.bool("only_media"),
        )
        return await _answer(
            db, viewer, items, params, ("exclude_replies", "exclude_reblogs", "only_media")
        )
