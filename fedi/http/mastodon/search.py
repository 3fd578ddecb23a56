"""Search v2: accounts, statuses and hashtags, resolving remote handles and URLs on request.

Accounts and initiatives are found by the site's own search service (``fedi.domain.search``:
the discover page's full text, with its visibility rules): people as accounts, tribes as
group accounts, initiatives as statuses. Notes are found by their text (public ones, and
those the viewer may see).

``resolve=true`` with a handle (``name@host``, ``@name@host``) or a URL looks it up on its
server. The network part (WebFinger, fetching the document) runs with no database session
open; only storing what came back takes a short transaction.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from quart import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.fetcher import FetchError
from fedi.domain import search as site_search
from fedi.domain.notes import NOTE_TYPES
from fedi.federation.incoming.posts import NotStorable, fetch_json, parse_post, store_post
from fedi.federation.remote.actor_rows import upsert_actor_document
from fedi.federation.remote.actors import ActorUnavailable, webfinger_lookup
from fedi.federation.runtime import get_federation
from fedi.http.mastodon import status_ids, status_queries
from fedi.http.mastodon.common import ApiBlueprint, api_json, api_params, optional_api_user
from fedi.http.mastodon.status_entity import StatusItem, account_of, render_statuses
from fedi.state import AppState, get_state
from models import Actor, ApObject, Initiative, Tribe

blueprint = ApiBlueprint("mastodon_search", __name__)
log = logging.getLogger(__name__)

HANDLE = re.compile(r"^@?([A-Za-z0-9_.\-]+)@([A-Za-z0-9.\-]+(?::\d+)?)$")
HASHTAG = re.compile(r"^#?([\w]{1,64})$", re.UNICODE)
ACTOR_TYPES = frozenset({"Person", "Group", "Service", "Application", "Organization"})


async def _resolve_handle(state: AppState, handle: str) -> Actor | None:
    """A remote account by handle: WebFinger and the actor document with no session open,
    then one short write."""
    try:
        actor_id = await webfinger_lookup(state, handle)
        doc = await get_federation(state).fetcher.fetch_actor(actor_id)
    except (ActorUnavailable, FetchError) as exc:
        log.info("search: %s not resolved: %s", handle, exc)
        return None
    async with state.db.session() as db:
        return await upsert_actor_document(db, state.settings, doc)


async def _resolve_url(state: AppState, url: str) -> Actor | ApObject | None:
    """What a URL names: an account or a post, fetched (no session open) and stored."""
    async with state.db.session() as db:
        known_post = await db.scalar(
            select(ApObject).where((ApObject.ap_id == url) | (ApObject.url == url))
        )
        if known_post is not None:
            return known_post
        known_actor = await db.scalar(
            select(Actor).where((Actor.ap_id == url) | (Actor.url == url))
        )
        if known_actor is not None:
            return known_actor
    if state.settings.is_local_id(url):
        return None
    try:
        doc = await fetch_json(state, url)
        if doc.get("type") in ACTOR_TYPES:
            async with state.db.session() as db:
                return await upsert_actor_document(db, state.settings, doc)
        post = parse_post(doc)
        author_id = post.attributed_to[0] if post.attributed_to else None
        if not author_id:
            return None
        author_doc = await get_federation(state).fetcher.fetch_actor(author_id)
        async with state.db.session() as db:
            author = await upsert_actor_document(db, state.settings, author_doc)
            return await store_post(db, author, post)
    except (FetchError, NotStorable, ValueError) as exc:
        log.info("search: %s not resolved: %s", url, exc)
        return None


async def _local_handle(db: AsyncSession, state: AppState, name: str, host: str) -> Actor | None:
    if host.lower() == state.settings.host.lower():
        return await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == name.lower())
        )
    return await db.scalar(
        select(Actor).where(Actor.local.is_(False), Actor.username == name, Actor.domain == host)
    )


def _tag_entity(state: AppState, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "url": state.settings.url(f"/tags/{name}"),
        "history": [],
        "following": False,
    }


async def _note_matches(
    db: AsyncSession, viewer: Actor | None, text: str, limit: int, offset: int
) -> list[StatusItem]:
    query = (
        select(ApObject)
        .where(
            ApObject.deleted_at.is_(None),
            ApObject.type.in_(sorted(NOTE_TYPES)),
            func.lower(ApObject.content_html).like(
                status_queries.search_pattern(text.lower()), escape="\\"
            ),
        )
        .order_by(ApObject.published.desc())
        .limit((limit + offset) * 2 + 10)
    )
    found: list[StatusItem] = []
    for note in (await db.scalars(query)).all():
        item = StatusItem(status_ids.NOTE, note=note)
        if await status_queries.may_see(db, viewer, item):
            found.append(item)
    return found[offset:offset + limit]



@blueprint.get("/api/v2/search")
async def search_v2() -> Response:
    """``q``, ``type`` (accounts, statuses, hashtags), ``resolve``, ``limit``, ``offset``."""
    state = get_state()
    params = await api_params()
    q = " ".join(params.str("q").split())[:200]
    kind = params.str("type")
    limit = params.int("limit", 20, lowest=1, highest=40)
    offset = params.int("offset", 0, lowest=0, highest=10_000)
    resolve = params.bool("resolve")
    want = {kind} if kind in ("accounts", "statuses", "hashtags") else {
        "accounts", "statuses", "hashtags"
    }
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:search",))
    viewer_id = found[1].id if found else None
    # Resolving is for people who are logged in (Mastodon refuses it anonymously: it makes
    # the server fetch on a stranger's behalf).
    resolve = resolve and viewer_id is not None
    resolved: Actor | ApObject | None = None
    handle = HANDLE.match(q)
    if q and resolve and offset == 0:
        if handle is not None and handle.group(2).lower() != state.settings.host.lower():
            resolved = await _resolve_handle(state, q)
        elif q.startswith(("https://", "http://")):
            resolved = await _resolve_url(state, q)
    accounts: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    hashtags: list[dict[str, Any]] = []
    async with state.db.session() as db:
        viewer = await db.get(Actor, viewer_id) if viewer_id else None
        if "accounts" in want and q:
            actors: list[Actor] = []
            if isinstance(resolved, Actor):
                actors.append(await db.get(Actor, resolved.id) or resolved)
            elif handle is not None:
                known = await _local_handle(db, state, handle.group(1), handle.group(2))
                if known is not None:
                    actors.append(known)
            if not actors and handle is None and not q.startswith(("https://", "http://")):
                per_page = limit + offset
                people = await site_search.search(
                    db, site_search.SearchQuery(kind="people", text=q, per_page=per_page), viewer
                )
                tribes = await site_search.search(
                    db, site_search.SearchQuery(kind="tribes", text=q, per_page=per_page), viewer
                )
                actors.extend(people.items)
                actors.extend(t.actor for t in tribes.items if isinstance(t, Tribe))
                actors = actors[offset:offset + limit]
            for actor in actors:
                accounts.append(await account_of(db, state.settings, actor))
        if "statuses" in want and q:
            items: list[StatusItem] = []
            if isinstance(resolved, ApObject):
                note = await db.get(ApObject, resolved.id)
                if note is not None:
                    items.append(StatusItem(status_ids.NOTE, note=note))
            elif q.startswith(("https://", "http://")):
                known_note = await db.scalar(
                    select(ApObject).where((ApObject.ap_id == q) | (ApObject.url == q))
                )
                if known_note is not None:
                    items.append(StatusItem(status_ids.NOTE, note=known_note))
            elif handle is None:
                initiatives = await site_search.search(
                    db,
                    site_search.SearchQuery(kind="initiatives", text=q, per_page=limit),
                    viewer,
                )
                items.extend(
                    StatusItem(status_ids.INITIATIVE, initiative=i)
                    for i in initiatives.items if isinstance(i, Initiative)
                )
                items.extend(await _note_matches(db, viewer, q, limit, offset))
            visible = [i for i in items if await status_queries.may_see(db, viewer, i)]
            statuses = await render_statuses(db, state.settings, viewer, visible[:limit])
        if "hashtags" in want and q and offset == 0:
            tag = HASHTAG.match(q)
            if tag is not None:
                hashtags.append(_tag_entity(state, tag.group(1).lower()))
    return api_json({"accounts": accounts, "statuses": statuses, "hashtags": hashtags})

