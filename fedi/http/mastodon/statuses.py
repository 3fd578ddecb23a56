"""Statuses: post, show, edit, delete, thread context, favourite, boost and bookmark.

Everything goes through the services the web pages and the C2S outbox use
(``fedi.domain.notes``, ``fedi.domain.reactions``), so posting limits, addressing,
mentions and federation are the same. What needs the network (the people a text mentions)
is resolved before the write, each handle in its own short session
(``fedi.federation.remote.mentions``), so no transaction is open while another server
answers.

``Idempotency-Key``: a status posted again with the same key by the same person within a
day answers the first status instead of posting twice (apps retry on a flaky network).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import initiative_people, notes, reactions
from fedi.domain import media as media_files
from fedi.domain.errors import NotFound
from fedi.federation.remote.mentions import mentioned_actors, resolve_mentions
from fedi.http.mastodon import status_ids, status_queries
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    api_json,
    api_params,
    api_user,
    endpoint_url,
    optional_api_user,
    paginate_link,
)
from fedi.http.mastodon.status_entity import (
    VISIBILITY_FROM_MASTODON,
    StatusItem,
    account_of,
    render_status,
    render_statuses,
)
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor, ApObject, Bookmark, IdempotencyKey, MediaAttachment, Reaction, utcnow

blueprint = ApiBlueprint("mastodon_statuses", __name__)



MAX_MEDIA = 4
IDEMPOTENCY_WINDOW = timedelta(days=1)


async def visible_item(db: AsyncSession, viewer: Actor | None, status_id: str) -> StatusItem:
    """The status behind ``status_id`` if ``viewer`` may see it, else ``ApiError`` 404
    (Mastodon answers 404 for private statuses too, so their existence does not leak)."""
    item = await status_queries.load_item(db, status_id)
    if item is None or not await status_queries.may_see(db, viewer, item):
        raise ApiError(404, "Record not found")
    return item


async def _note_of(db: AsyncSession, viewer: Actor, status_id: str) -> ApObject:
    """The note a status shows (a boost's note for a boost); 404 for initiatives."""
    item = await visible_item(db, viewer, status_id)
    if item.note is None:
        raise ApiError(422, "This status cannot do that (it is an initiative)")
    return item.note


async def _rendered(
    db: AsyncSession, settings: Settings, viewer: Actor | None, item: StatusItem
) -> dict[str, Any]:
    entity = await render_status(db, settings, viewer, item)
    if entity is None:
        raise ApiError(404, "Record not found")
    return entity


async def _note_answer(
    db: AsyncSession, settings: Settings, viewer: Actor, note: ApObject
) -> Response:
    """The note as a status entity, answered."""
    return api_json(await _rendered(db, settings, viewer, StatusItem(status_ids.NOTE, note=note)))


def _attachment_document(settings: Settings, row: MediaAttachment) -> dict[str, Any]:
    """An upload as the AS2 ``Document`` Mastodon sends in a note's ``attachment``."""
    doc: dict[str, Any] = {
        "type": "Document",
        "mediaType": row.media_type,
        "url": media_files.media_url(settings, row.path),
        "name": row.description or None,
        "focalPoint": [row.focus_x, row.focus_y],
    }
    if row.width and row.height:
        doc["width"] = row.width
        doc["height"] = row.height
    return doc


async def _media_for(db: AsyncSession, me: Actor, ids: list[Any]) -> list[MediaAttachment]:
    wanted = [str(i) for i in ids if str(i).strip()]
    if len(wanted) > MAX_MEDIA:
        raise ApiError(422, f"Validation failed: at most {MAX_MEDIA} attachments")
    rows: list[MediaAttachment] = []
    for media_id in wanted:
        row = await db.get(MediaAttachment, int(media_id)) if media_id.isdigit() else None
        if row is None or row.actor_id != me.id:
            raise ApiError(422, "Validation failed: media not found")
        if row.object_ap_id is not None:
            raise ApiError(422, "Validation failed: media is attached to another status")
        rows.append(row)
    return rows


async def _earlier_post(db: AsyncSession, me: Actor, key: str) -> ApObject | None:
    row = await db.scalar(
        select(IdempotencyKey).where(IdempotencyKey.actor_id == me.id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if utcnow() - row.created_at > IDEMPOTENCY_WINDOW:
        await db.delete(row)
        await db.flush()
        return None
    return await status_queries.note_by_ap_id(db, row.object_ap_id)


@blueprint.post("/api/v1/statuses")
async def create_status() -> Response:
    """Post a status (``status``, ``media_ids[]``, ``in_reply_to_id``, ``visibility``,
    ``spoiler_text``, ``sensitive``), as the web form and the C2S outbox do."""
    state = get_state()
    params = await api_params()
    text = params.str("status")
    key = request.headers.get("Idempotency-Key", "").strip()[:255]
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        if key:
            earlier = await _earlier_post(db, me, key)
            if earlier is not None:
                item = StatusItem(status_ids.NOTE, note=earlier)
                return api_json(await _rendered(db, state.settings, me, item))
    if params.get("poll[options]") is not None or params.get("poll") is not None:
        raise ApiError(422, "Polls are posted in a tribe or an initiative, not as a status")
    # Mentioned people from other servers are looked up before the write (network).
    resolved = await resolve_mentions(state, text)
    visibility_param = params.str("visibility", "public") or "public"
    visibility = VISIBILITY_FROM_MASTODON.get(visibility_param)
    if visibility is None:
        raise ApiError(422, f"Validation failed: unknown visibility {visibility_param}")
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        in_reply_to: str | None = None
        reply_to_id = params.str("in_reply_to_id")
        if reply_to_id:
            parent = await _note_of(db, me, reply_to_id)
            in_reply_to = parent.ap_id
        uploads = await _media_for(db, me, params.list("media_ids"))
        spoiler = params.str("spoiler_text").strip() or None
        note = await notes.create_note(
            db, state, me, text, visibility,
            summary=spoiler,
            in_reply_to=in_reply_to,
            mentions=await mentioned_actors(db, resolved),
            attachments=[_attachment_document(state.settings, row) for row in uploads],
        )
        for row in uploads:
            row.object_ap_id = note.ap_id
        if key:
            db.add(IdempotencyKey(actor_id=me.id, key=key, object_ap_id=note.ap_id))
        try:
            await db.flush()
        except IntegrityError as exc:  # the same key raced in twice; the first one wins
            raise ApiError(409, "A status with this Idempotency-Key is being posted") from exc
        entity = await _rendered(db, state.settings, me, StatusItem(status_ids.NOTE, note=note))
    return api_json(entity)


@blueprint.get("/api/v1/statuses/<status_id>")
async def show_status(status_id: str) -> Response:
    """One status, if the viewer (or anyone, for public ones) may see it."""
    state = get_state()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        item = await visible_item(db, viewer, status_id)
        return api_json(await _rendered(db, state.settings, viewer, item))


@blueprint.get("/api/v1/statuses")
async def show_statuses() -> Response:
    """Several statuses at once (``id[]``); unknown or hidden ones are left out."""
    state = get_state()
    params = await api_params()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        items = []
        for status_id in params.list("id")[:40]:
            item = await status_queries.load_item(db, str(status_id))
            if item is not None and await status_queries.may_see(db, viewer, item):
                items.append(item)
        return api_json(await render_statuses(db, state.settings, viewer, items))


@blueprint.delete("/api/v1/statuses/<status_id>")
async def delete_status(status_id: str) -> Response:
    """Delete one's own status; answers it with ``text`` (its source), for "delete and
    redraft". Deleting a boost's id undoes the boost, as Mastodon does."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        item = await visible_item(db, me, status_id)
        entity = await _rendered(db, state.settings, me, item)
        if item.reaction is not None:
            if item.reaction.actor_id != me.id:
                raise ApiError(403, "This action is not allowed")
            await reactions.unannounce(db, state, me, item.reaction.object_ap_id)
            return api_json(entity)
        note = item.note
        if note is None or note.attributed_to_id != me.id or not note.local:
            raise ApiError(403, "This action is not allowed")
        entity["text"] = note.source or ""
        uploads = (
            await db.scalars(
                select(MediaAttachment).where(MediaAttachment.object_ap_id == note.ap_id)
            )
        ).all()
        await notes.delete_note(db, state, me, note)
        await db.execute(delete(Bookmark).where(Bookmark.object_ap_id == note.ap_id))
        for row in uploads:
            media_files.delete_upload(state.settings, row.path)
            await db.delete(row)
    return api_json(entity)


@blueprint.put("/api/v1/statuses/<status_id>")
async def edit_status(status_id: str) -> Response:
    """Edit one's own note: its text and content warning (``status``, ``spoiler_text``);
    the visibility stays, as on Mastodon. Attachments stay as they were."""
    state = get_state()
    params = await api_params()
    text = params.str("status")
    resolved = await resolve_mentions(state, text)
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        note = await _note_of(db, me, status_id)
        await notes.update_note(
            db, state, me, note, text,
            summary=params.str("spoiler_text").strip() or None,
            mentions=await mentioned_actors(db, resolved),
        )
        item = StatusItem(status_ids.NOTE, note=note)
        return api_json(await _rendered(db, state.settings, me, item))


@blueprint.get("/api/v1/statuses/<status_id>/source")
async def status_source(status_id: str) -> Response:
    """What the author wrote (markdown), for editing."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:statuses",))
        note = await _note_of(db, me, status_id)
        if note.attributed_to_id != me.id:
            raise ApiError(404, "Record not found")
        return api_json(
            {"id": status_id, "text": note.source or "", "spoiler_text": note.summary or ""}
        )


@blueprint.get("/api/v1/statuses/<status_id>/history")
async def status_history(status_id: str) -> Response:
    """The versions of a status. Earlier versions are not kept, so this is the current
    one only (Mastodon answers the same for a status never edited)."""
    state = get_state()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        item = await visible_item(db, viewer, status_id)
        entity = await _rendered(db, state.settings, viewer, item)
    shown = entity["reblog"] or entity
    return api_json([{
        "content": shown["content"], "spoiler_text": shown["spoiler_text"],
        "sensitive": shown["sensitive"],
        "created_at": shown["edited_at"] or shown["created_at"],
        "account": shown["account"], "poll": shown["poll"],
        "media_attachments": shown["media_attachments"], "emojis": shown["emojis"],
    }])


@blueprint.get("/api/v1/statuses/<status_id>/context")
async def status_context(status_id: str) -> Response:
    """The thread around a status: ``ancestors`` (oldest first) and ``descendants``."""
    state = get_state()
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        item = await visible_item(db, viewer, status_id)
        if item.note is None:
            return api_json({"ancestors": [], "descendants": []})
        ancestors, descendants = await status_queries.context(db, viewer, item.note)
        return api_json({
            "ancestors": await render_statuses(db, state.settings, viewer, ancestors),
            "descendants": await render_statuses(db, state.settings, viewer, descendants),
        })


# ---------------------------------------------------------------- favourites and boosts


async def _support(status_id: str, *, on: bool) -> Response | None:
    """Favouriting an initiative supports it (``initiative_people``, as the web's button
    and a Mastodon ``Like{Page}`` do); None when the status is not an initiative."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:favourites",))
        item = await visible_item(db, me, status_id)
        if item.initiative is None:
            return None
        if on:
            await initiative_people.support(db, state.settings, item.initiative, me)
        else:
            await initiative_people.unsupport(db, state.settings, item.initiative, me)
        return api_json(await _rendered(db, state.settings, me, item))


@blueprint.post("/api/v1/statuses/<status_id>/favourite")
async def favourite(status_id: str) -> Response:
    """Like a status (``Like``, as the web's button); twice is harmless. An initiative is
    supported."""
    supported = await _support(status_id, on=True)
    if supported is not None:
        return supported
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:favourites",))
        note = await _note_of(db, me, status_id)
        await reactions.like(db, state, me, note.ap_id)
        return await _note_answer(db, state.settings, me, note)


@blueprint.post("/api/v1/statuses/<status_id>/unfavourite")
async def unfavourite(status_id: str) -> Response:
    """Take a like back (``Undo{Like}``); a status not liked answers as it is. An
    initiative is no longer supported."""
    supported = await _support(status_id, on=False)
    if supported is not None:
        return supported
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:favourites",))
        note = await _note_of(db, me, status_id)
        try:
            await reactions.unlike(db, state, me, note.ap_id)
        except NotFound:
            pass
        return await _note_answer(db, state.settings, me, note)


@blueprint.post("/api/v1/statuses/<status_id>/reblog")
async def reblog(status_id: str) -> Response:
    """Boost a status (``Announce``); answers the boost, whose ``reblog`` is the status."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        note = await _note_of(db, me, status_id)
        reaction = await reactions.announce(db, state, me, note.ap_id)
        item = StatusItem(status_ids.REBLOG, note=note, reaction=reaction)
        return api_json(await _rendered(db, state.settings, me, item))


@blueprint.post("/api/v1/statuses/<status_id>/unreblog")
async def unreblog(status_id: str) -> Response:
    """Take a boost back (``Undo{Announce}``); answers the status itself."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        note = await _note_of(db, me, status_id)
        try:
            await reactions.unannounce(db, state, me, note.ap_id)
        except NotFound:
            pass
        return await _note_answer(db, state.settings, me, note)


async def _who_reacted(status_id: str, kind: str) -> Response:
    state = get_state()
    params = await api_params()
    limit = params.int("limit", 40, lowest=1, highest=80)
    max_id = params.str("max_id")
    async with state.db.session() as db:
        found = await optional_api_user(db, scopes=("read:statuses",))
        viewer = found[1] if found else None
        item = await visible_item(db, viewer, status_id)
        if item.note is None:
            return api_json([])
        rows = await status_queries.reactors(
            db, item.note, kind, limit=limit, max_id=int(max_id) if max_id.isdigit() else None
        )
        accounts = [await account_of(db, state.settings, actor) for _, actor in rows]
    link = paginate_link(
        [reaction.id for reaction, _ in rows], endpoint_url(), {"limit": limit}
    )
    return api_json(accounts, headers={"Link": link} if link else None)


@blueprint.get("/api/v1/statuses/<status_id>/favourited_by")
async def favourited_by(status_id: str) -> Response:
    """Who liked a status."""
    return await _who_reacted(status_id, reactions.LIKE)


@blueprint.get("/api/v1/statuses/<status_id>/reblogged_by")
async def reblogged_by(status_id: str) -> Response:
    """Who boosted a status."""
    return await _who_reacted(status_id, reactions.ANNOUNCE)


# ---------------------------------------------------------------- bookmarks


@blueprint.post("/api/v1/statuses/<status_id>/bookmark")
async def bookmark(status_id: str) -> Response:
    """Keep a status for later (private to the person; nothing federates)."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:bookmarks",))
        note = await _note_of(db, me, status_id)
        existing = await db.scalar(
            select(Bookmark).where(Bookmark.actor_id == me.id, Bookmark.object_ap_id == note.ap_id)
        )
        if existing is None:
            db.add(Bookmark(actor_id=me.id, object_ap_id=note.ap_id))
            await db.flush()
        return await _note_answer(db, state.settings, me, note)


@blueprint.post("/api/v1/statuses/<status_id>/unbookmark")
async def unbookmark(status_id: str) -> Response:
    """Forget a bookmark."""
    state = get_state()
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:bookmarks",))
        note = await _note_of(db, me, status_id)
        await db.execute(
            delete(Bookmark).where(Bookmark.actor_id == me.id, Bookmark.object_ap_id == note.ap_id)
        )
        return await _note_answer(db, state.settings, me, note)


async def _kept(rows_query: Any, scope: str) -> Response:
    """A page of bookmarks or favourites, paged by their own row ids (as Mastodon does)."""
    state = get_state()
    params = await api_params()
    limit = params.int("limit", 20, lowest=1, highest=40)
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=(scope,))
        query = rows_query(me)
        model = query.column_descriptions[0]["entity"]
        max_id, min_id = params.str("max_id"), params.str("min_id") or params.str("since_id")
        if max_id.isdigit():
            query = query.where(model.id < int(max_id))
        if min_id.isdigit():
            query = query.where(model.id > int(min_id))
        forwards = bool(params.str("min_id"))
        query = query.order_by(model.id.asc() if forwards else model.id.desc()).limit(limit)
        rows = list((await db.scalars(query)).all())
        if forwards:
            rows.reverse()
        items: list[StatusItem] = []
        for row in rows:
            note = await status_queries.note_by_ap_id(db, row.object_ap_id)
            if note is not None and await notes.can_see(db, me, note):
                items.append(StatusItem(status_ids.NOTE, note=note))
        entities = await render_statuses(db, state.settings, me, items)
    link = paginate_link([row.id for row in rows], endpoint_url(), {"limit": limit})
    return api_json(entities, headers={"Link": link} if link else None)


@blueprint.get("/api/v1/bookmarks")
async def bookmarks() -> Response:
    """One's bookmarks, newest first."""
    return await _kept(
        lambda me: select(Bookmark).where(Bookmark.actor_id == me.id),
        "read:bookmarks",
    )


@blueprint.get("/api/v1/favourites")
async def favourites() -> Response:
    """The statuses one liked, newest first."""
    return await _kept(
        lambda me: select(Reaction).where(Reaction.actor_id == me.id, Reaction.kind == "Like"),
        "read:favourites",
    )
