"""Serving initiatives as ActivityStreams at their ids: the ``Page``, its tasks, messages,
comments, and the paged ``replies`` and ``likes`` collections (documents built by
``fedi.federation.documents.initiatives``).

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
from activitypub.vocab import default_context
from fedi.domain.initiative_access import find_initiative
from fedi.federation.audience import may_fetch
from fedi.federation.documents.actors import namespace_url
from fedi.federation.documents.initiatives import (
    PAGE_SIZE,
    comment_document,
    message_document,
    note_addressing,
    page_document,
    task_document,
)
from fedi.federation.outgoing.initiatives import ticket_document
from fedi.http.ap.actors import (
    activity_json_response,
    json_not_found,
    wants_activity_json,
)
from fedi.http.ap.objects import signed_viewer
from fedi.settings import Settings
from fedi.state import get_state
from models import Comment, Initiative, InitiativeSupporter, InitiativeUpdate, Task

blueprint = Blueprint("initiative_objects", __name__)

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
        doc = task_document(state.settings, found, task)
        # The lane and place as the Create/Update{Ticket} carry them, so a server that
        # confirms an announced Ticket here files it in the same lane.
        sent = await ticket_document(db, state.settings, found, task)
        doc["lane"], doc["position"] = sent["lane"], sent["position"]
        return _private(activity_json_response(doc), found)


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
