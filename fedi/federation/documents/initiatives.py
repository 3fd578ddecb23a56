"""ActivityStreams documents of initiatives: the ``Page``, its tasks, messages and comments.

The initiative is a ``Page`` because Mastodon converts a Page into a status showing
``name``, ``summary`` and a link to ``url`` (it drops ``content``), and Lemmy shows it as a
post. Tasks are ``Ticket``-like objects (ForgeFed's ``isResolved``) in the initiative's
``context``; other software ignores them. The routes serving them at their ids are in
``fedi.http.ap.initiatives``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import PUBLIC, default_context
from fedi.domain import media
from fedi.domain.initiative_access import active_partners
from fedi.federation.documents.actors import namespace_url, talent_hashtags
from fedi.settings import Settings
from fedi.text import plain_text
from models import Comment, Initiative, InitiativeUpdate, Task

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
