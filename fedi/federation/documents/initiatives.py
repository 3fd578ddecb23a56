"""ActivityStreams documents of initiatives: the ``Page``, its tasks, messages, comments,
and the paged ``replies`` and ``likes`` collections, served at their ids.

The initiative is a ``Page`` because Mastodon converts a Page into a status showing
``name``, ``summary`` and a link to ``url`` (it drops ``content``), and Lemmy shows it as a
post. Tasks are ``Ticket``-like objects (ForgeFed's ``isResolved``) in the initiative's
``context``; other software ignores them.

Who gets the JSON: a public initiative and its parts are served to anyone. A restricted one
(``members``, ``private``) only to a GET signed with HTTP Signatures by an actor that may
see it, or by the instance actor of a server where somebody may
(``initiative_audience.may_fetch``); everybody else gets 404, so its existence is not
revealed. A deleted initiative answers 410 with a ``Tombstone`` (404 to those who could not
see it).

Copies: a server keeping a copy of an initiative hosted elsewhere has a local page for it
(``/initiatives/<n>``) but is not its origin. JSON requests for such a copy, its tasks,
messages, comments and collections answer **302** to the original id (when the requester
may see it; 404 otherwise), so nobody takes the copy for the original. Things of a copy
that were made here (a comment or task by one of our people) have their ids here and are
served here.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, redirect, request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_tombstone, ordered_collection, ordered_collection_page
from activitypub.vocab import PUBLIC, default_context
from fedi.domain import media
from fedi.domain.initiative_access import active_partners, find_initiative
from fedi.federation.documents.actors import namespace_url, talent_hashtags
from fedi.http.ap.actors import (
    activity_json_response,
    json_not_found,
    wants_activity_json,
)
from fedi.settings import Settings
from fedi.state import get_state
from fedi.text import plain_text
from models import Comment, Initiative, InitiativeSupporter, InitiativeUpdate, Task

blueprint = Blueprint("initiative_objects", __name__)

PAGE_SIZE = 20
SUMMARY_LIMIT = 500


def _ts(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


async def addressing(db: AsyncSession, initiative: Initiative) -> tuple[list[str], list[str]]:
    """``to`` and ``cc`` by visibility: public to [tribe, Public]; members to the tribe;
    private to the partners only."""
    tribe_id = initiative.tribe.actor.ap_id
    if initiative.visibility == "public":
        return [tribe_id, PUBLIC], []
    if initiative.visibility == "members":
        return [tribe_id], []
    return [actor.ap_id for actor in await active_partners(db, initiative)], []


async def note_addressing(
    db: AsyncSession, initiative: Initiative
) -> tuple[list[str], list[str]]:
    """``to`` and ``cc`` of a message or comment: public ones to Public with the tribe in
    ``cc`` (how Mastodon addresses a post to a group); restricted ones like the Page."""
    if initiative.visibility == "public":
        return [PUBLIC], [initiative.tribe.actor.ap_id]
    return await addressing(db, initiative)


async def page_document(
    db: AsyncSession, settings: Settings, initiative: Initiative
) -> dict[str, Any]:
    """The ``Page`` of an initiative (see the module notes)."""
    ap_id = initiative.ap_id or settings.url(f"/initiatives/{initiative.id}")
    to, cc = await addressing(db, initiative)
    summary = initiative.summary or plain_text(initiative.description_html, SUMMARY_LIMIT)
    doc: dict[str, Any] = {
        "@context": default_context(namespace_url(settings)),
        "id": ap_id,
        "type": "Page",
        "name": initiative.name,
        "summary": summary[:SUMMARY_LIMIT],
        "content": initiative.description_html,
        "mediaType": "text/html",
        "source": {"content": initiative.description_source, "mediaType": "text/markdown"},
        "url": ap_id,
        "attributedTo": initiative.creator.ap_id if initiative.creator else None,
        "to": to,
        "cc": cc,
        "audience": initiative.tribe.actor.ap_id,
        # The initiative is the root of its own conversation.
        "context": ap_id,
        "published": _ts(initiative.created_at),
        "updated": _ts(initiative.updated_at),
        "phase": initiative.phase,
        "visibility": initiative.visibility,
        "archived": initiative.archived_at is not None,
        "expectedResult": initiative.expected_result,
        "motivation": initiative.motivation,
        "tag": talent_hashtags(settings, list(initiative.tags or [])),
        "replies": f"{ap_id}/replies",
        "likes": f"{ap_id}/likes",
    }
    if initiative.start_date:
        doc["startTime"] = f"{initiative.start_date.isoformat()}T00:00:00Z"
    if initiative.end_date:
        doc["endTime"] = f"{initiative.end_date.isoformat()}T00:00:00Z"
    if initiative.budget_type != "none":
        doc["budgetType"] = initiative.budget_type
        doc["budget"] = initiative.budget_amount
    if initiative.location:
        doc["location"] = {"type": "Place", "name": initiative.location}
    if initiative.image_path:
        doc["image"] = {
            "type": "Image", "url": media.media_url(settings, initiative.image_path),
            "mediaType": media.media_type_of(initiative.image_path),
        }
    if doc["attributedTo"] is None:
        del doc["attributedTo"]
    return doc


def task_document(settings: Settings, initiative: Initiative, task: Task) -> dict[str, Any]:
    """A task as a ``Ticket`` in the initiative's context."""
    ap_id = task.ap_id or settings.url(f"/initiatives/{initiative.id}/tasks/{task.id}")
    context_id = initiative.ap_id or settings.url(f"/initiatives/{initiative.id}")
    doc: dict[str, Any] = {
        "@context": default_context(namespace_url(settings)),
        "id": ap_id,
        "type": "Ticket",
        "name": task.name,
        "content": task.description_html,
        "source": {"content": task.description_source, "mediaType": "text/markdown"},
        "context": context_id,
        "audience": initiative.tribe.actor.ap_id,
        "isResolved": task.completed_at is not None,
        "talents": list(task.tags or []),
        "published": _ts(task.created_at),
        "updated": _ts(task.updated_at),
    }
    if task.due_date:
        doc["endTime"] = f"{task.due_date.isoformat()}T00:00:00Z"
    return doc


def _note(
    settings: Settings,
    initiative: Initiative,
    ap_id: str,
    author_id: str | None,
    html: str,
    source: str,
    in_reply_to: str | None,
    published: Any,
    updated: Any = None,
    audience: tuple[list[str], list[str]] | None = None,
) -> dict[str, Any]:
    context_id = initiative.ap_id or settings.url(f"/initiatives/{initiative.id}")
    to, cc = audience or ([PUBLIC], [initiative.tribe.actor.ap_id])
    doc: dict[str, Any] = {
        "id": ap_id,
        "type": "Note",
        "attributedTo": author_id,
        "content": html,
        "source": {"content": source, "mediaType": "text/markdown"},
        "inReplyTo": in_reply_to or context_id,
        "context": context_id,
        "audience": initiative.tribe.actor.ap_id,
        "to": to,
        "cc": cc,
        "published": _ts(published),
    }
    if updated is not None:
        doc["updated"] = _ts(updated)
    return doc


def comment_document(
    settings: Settings,
    initiative: Initiative,
    comment: Comment,
    audience: tuple[list[str], list[str]] | None = None,
) -> dict[str, Any]:
    """A comment as a ``Note`` with ``inReplyTo`` (what it answered); ``audience`` is its
    (to, cc) from :func:`note_addressing` (public addressing when left out)."""
    return _note(
        settings, initiative, comment.ap_id or "", comment.author.ap_id, comment.content_html,
        comment.content_source, comment.in_reply_to_ap_id, comment.created_at, comment.edited_at,
        audience,
    )


def message_document(
    settings: Settings,
    initiative: Initiative,
    entry: InitiativeUpdate,
    audience: tuple[list[str], list[str]] | None = None,
) -> dict[str, Any]:
    """A free message as a ``Note`` replying to the initiative, with our ``isUpdate`` term
    (``audience`` as for :func:`comment_document`)."""
    doc = _note(
        settings, initiative, entry.ap_id or "", entry.actor.ap_id if entry.actor else None,
        entry.content_html, entry.content_source, None, entry.created_at, None, audience,
    )
    # Servers that fetch the message (rather than take it from an activity) must still
    # tell it from a comment on the Page.
    doc["isUpdate"] = True
    return doc


def _private(response: Response, initiative: Initiative) -> Response:
    """Keep shared caches from keeping a restricted document."""
    if initiative.visibility != "public":
        response.headers["Cache-Control"] = "private"
    return response


def _to_origin(url: str | None) -> Response:
    """302 to where a copy's original lives (see the module notes)."""
    if not url:
        return json_not_found()
    response = redirect(url, 302)
    response.headers["Vary"] = "Accept"
    return response  # type: ignore[return-value]


async def _may_read(db: AsyncSession, initiative: Initiative) -> bool:
    """Whether this request may read ``initiative``: it is public, or the GET is signed by
    an actor (or a server) that may see it."""
    if initiative.visibility == "public":
        return True
    from fedi.federation.audience import may_fetch
    from fedi.http.ap.objects import signed_viewer

    return await may_fetch(db, get_state(), initiative, await signed_viewer(db))


async def _readable_initiative(db: AsyncSession, initiative_id: int) -> Initiative | Response:
    """The initiative when this request may read it; otherwise the answer to give (404, or
    410 with a ``Tombstone`` for a deleted public one)."""
    initiative = await find_initiative(db, initiative_id)
    if initiative is None:
        return json_not_found()
    if initiative.deleted_at is not None:
        if initiative.visibility != "public":
            return json_not_found()
        ap_id = initiative.ap_id or get_state().settings.url(f"/initiatives/{initiative_id}")
        return activity_json_response(
            build_tombstone(ap_id, "Page", initiative.deleted_at), status=410
        )
    if not await _may_read(db, initiative):
        return json_not_found()
    return initiative


def _is_here(settings: Settings, ap_id: str | None, path: str) -> bool:
    """Whether ``ap_id`` is the id served at ``path`` (not a copy's part from elsewhere)."""
    return not ap_id or ap_id == settings.url(path)


async def page_response(initiative_id: int) -> Response:
    """The ``Page`` JSON of an initiative (called by the page route on content negotiation);
    a copy of a remote initiative redirects to the original."""
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        if not found.local:
            return _to_origin(found.ap_id)
        doc = await page_document(db, state.settings, found)
        return _private(activity_json_response(doc), found)


async def task_response(initiative_id: int, task_id: int) -> Response:
    """The ``Ticket`` JSON of a task (a task made elsewhere redirects to its own id)."""
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        task = await db.get(Task, task_id)
        if task is None or task.initiative_id != found.id:
            return json_not_found()
        path = f"/initiatives/{initiative_id}/tasks/{task_id}"
        if not _is_here(state.settings, task.ap_id, path):
            return _to_origin(task.ap_id)
        return _private(
            activity_json_response(task_document(state.settings, found, task)), found
        )


def _page_number() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return None
    try:
        return max(1, min(int(raw), 100_000))
    except ValueError:
        return 1


def _collection_of_copy(initiative: Initiative, name: str) -> Response:
    """A copy's collection lives with the original: redirect there (keeping ``?page``)."""
    query = request.query_string.decode("latin-1")
    target = f"{initiative.ap_id}/{name}" + (f"?{query}" if query else "")
    return _to_origin(target if initiative.ap_id else None)


@blueprint.get("/initiatives/<int:initiative_id>/replies")
async def replies(initiative_id: int) -> Response:
    """Messages and comments, oldest first, paged (Mastodon 4.5 walks this for replies)."""
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        if not found.local:
            return _collection_of_copy(found, "replies")
        base = f"{found.ap_id}/replies"
        audience = await note_addressing(db, found)
        messages = list((await db.scalars(
            select(InitiativeUpdate).where(
                InitiativeUpdate.initiative_id == found.id, InitiativeUpdate.kind == "message"
            ).order_by(InitiativeUpdate.created_at, InitiativeUpdate.id)
        )).unique().all())
        comments = list((await db.scalars(
            select(Comment).where(
                Comment.initiative_id == found.id, Comment.deleted_at.is_(None)
            ).order_by(Comment.created_at, Comment.id)
        )).unique().all())
        items: list[tuple[Any, dict[str, Any] | str]] = []
        for entry in messages:
            items.append(
                (entry.created_at, message_document(state.settings, found, entry, audience))
            )
        for comment in comments:
            local = (comment.ap_id or "").startswith(state.settings.base_url)
            doc: dict[str, Any] | str = (
                comment_document(state.settings, found, comment, audience) if local
                else comment.ap_id or ""
            )
            items.append((comment.created_at, doc))
        items.sort(key=lambda pair: pair[0])
        total = len(items)
        page = _page_number()
        if page is None:
            return _private(
                activity_json_response(ordered_collection(base, total, first=f"{base}?page=1")),
                found,
            )
        chunk = [doc for _when, doc in items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
        return _private(activity_json_response(
            ordered_collection_page(
                f"{base}?page={page}", base, chunk,
                next=f"{base}?page={page + 1}" if page * PAGE_SIZE < total else None,
                prev=f"{base}?page={page - 1}" if page > 1 else None,
                total_items=total,
            )
        ), found)


@blueprint.get("/initiatives/<int:initiative_id>/likes")
async def likes(initiative_id: int) -> Response:
    """How many support the initiative (a count only, as Mastodon publishes likes)."""
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        if not found.local:
            return _collection_of_copy(found, "likes")
        total = await db.scalar(
            select(func.count(InitiativeSupporter.id)).where(
                InitiativeSupporter.initiative_id == found.id
            )
        )
        doc = ordered_collection(f"{found.ap_id}/likes", int(total or 0))
        return _private(activity_json_response(doc), found)


@blueprint.get("/initiatives/<int:initiative_id>/comments/<int:comment_id>")
async def comment(initiative_id: int, comment_id: int) -> Response:
    """A comment's id: the ``Note`` for servers, its place on the page for browsers."""
    if not wants_activity_json():
        target = f"/initiatives/{initiative_id}#comment-{comment_id}"
        return redirect(target)  # type: ignore[return-value]
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        row = await db.get(Comment, comment_id)
        if row is None or row.initiative_id != found.id:
            return json_not_found()
        path = f"/initiatives/{initiative_id}/comments/{comment_id}"
        if not _is_here(state.settings, row.ap_id, path):
            return _to_origin(row.ap_id)
        if row.deleted_at is not None:
            return activity_json_response(
                build_tombstone(row.ap_id or "", "Note", row.deleted_at), status=410
            )
        doc = comment_document(
            state.settings, found, row, await note_addressing(db, found)
        )
    return _private(activity_json_response(
        {"@context": default_context(namespace_url(state.settings)), **doc}
    ), found)


@blueprint.get("/initiatives/<int:initiative_id>/updates/<int:update_id>")
async def message(initiative_id: int, update_id: int) -> Response:
    """A message's id: the ``Note`` for servers, its place on the page for browsers."""
    if not wants_activity_json():
        target = f"/initiatives/{initiative_id}#update-{update_id}"
        return redirect(target)  # type: ignore[return-value]
    state = get_state()
    async with state.db.session() as db:
        found = await _readable_initiative(db, initiative_id)
        if isinstance(found, Response):
            return found
        entry = await db.get(InitiativeUpdate, update_id)
        if entry is None or entry.initiative_id != found.id or entry.kind != "message":
            return json_not_found()
        path = f"/initiatives/{initiative_id}/updates/{update_id}"
        if not _is_here(state.settings, entry.ap_id, path):
            return _to_origin(entry.ap_id)
        doc = message_document(
            state.settings, found, entry, await note_addressing(db, found)
        )
    return _private(activity_json_response(
        {"@context": default_context(namespace_url(state.settings)), **doc}
    ), found)
