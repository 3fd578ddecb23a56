"""Incoming polls and votes, the way Mastodon sends them (FEP-9967).

* A vote is ``Create{Note}`` whose ``Note`` has a ``name`` (the chosen option) and
  ``inReplyTo`` one of our ``Question``s, addressed to the poll's author only. It is a vote,
  never a reply: :func:`claim_vote` takes it before the note path stores anything
  (``handlers/create.py`` asks it first). The poll service applies the rules (who may vote,
  once per person or per option, only while open); a refused vote is recorded as ignored
  with the reason.
* A ``Question`` from another server (Mastodon, or a tribe on another instance of ours) is
  stored as a post like any status (``incoming.notes.receive_post``) and mirrored as a
  remote ``Poll`` (:func:`remote_poll_for`), so our people can vote in it. ``Update`` of it
  (new counts, the final result) refreshes the mirror (``handlers/update.py``). A Question
  that reached us another way (a boost, a group's announce) is mirrored the first time it
  is shown or voted in, from the stored document.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.timefmt import parse_datetime
from activitypub.vocab import as_list, host_of, id_of
from fedi.domain import polls
from fedi.domain.errors import ServiceError
from fedi.federation.incoming.notes import receive_post
from fedi.federation.incoming.object_receivers import register_object_receiver
from fedi.federation.incoming.registry import Ignore
from fedi.state import AppState
from fedi.text import plain_text, sanitize_remote_html
from models import Actor, ApObject, Poll, PollVote

__all__ = [
    "claim_vote",
    "question_fields",
    "receive_question",
    "refresh_after_update",
    "remote_poll_for",
]

log = logging.getLogger(__name__)


def _vote_object(activity: dict[str, Any]) -> dict[str, Any] | None:
    obj = activity.get("object")
    if not isinstance(obj, dict) or "Note" not in as_list(obj.get("type")):
        return None
    if not isinstance(obj.get("name"), str) or not id_of(obj.get("inReplyTo")):
        return None
    # A vote carries no text of its own (Mastodon sends none); a reply with a title is a reply.
    if plain_text(str(obj.get("content") or "")).strip():
        return None
    return obj


async def claim_vote(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """Apply ``activity`` when it is a vote in a poll of ours; False when it is not a vote.

    Raises ``Ignore`` with the reason when the vote is refused (closed poll, someone who
    may not vote, a second vote).
    """
    obj = _vote_object(activity)
    if obj is None:
        return False
    poll = await polls.poll_by_ap_id(db, id_of(obj.get("inReplyTo")) or "")
    if poll is None or not poll.local:
        return False
    vote_id = id_of(obj.get("id"))
    if not vote_id or host_of(vote_id) != host_of(sender.ap_id):
        raise Ignore("vote whose id is not on the voter's host")
    if id_of(obj.get("attributedTo")) not in (None, sender.ap_id):
        raise Ignore("vote attributed to someone else than its sender")
    if await db.scalar(select(PollVote.id).where(PollVote.ap_id == vote_id)) is not None:
        return True  # a redelivery
    try:
        await polls.vote(db, state.settings, sender, poll, [obj["name"]], ap_ids=[vote_id])
    except ServiceError as exc:
        raise Ignore(f"vote refused: {exc}") from exc
    return True


def _count(option: dict[str, Any]) -> int:
    replies = option.get("replies")
    total = replies.get("totalItems") if isinstance(replies, dict) else None
    return total if isinstance(total, int) and total >= 0 else 0


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def question_fields(doc: dict[str, Any]) -> dict[str, Any] | None:
    """What ``record_remote_poll`` needs from a ``Question`` document, or None when it
    has no options (Mastodon's ``oneOf``/``anyOf`` of ``Note``s with a ``name``)."""
    multiple = bool(as_list(doc.get("anyOf")))
    raw = as_list(doc.get("anyOf") if multiple else doc.get("oneOf"))
    options = [
        (" ".join(o["name"].split()), _count(o))
        for o in raw
        if isinstance(o, dict) and isinstance(o.get("name"), str) and o["name"].strip()
    ]
    if not options:
        return None
    content = doc.get("content")
    html = sanitize_remote_html(content) if isinstance(content, str) else ""
    name = doc.get("name")
    question = plain_text(html, 500) or (name if isinstance(name, str) else "")
    closed_value = doc.get("closed")
    end_time = _time(doc.get("endTime"))
    closed = _time(closed_value) or (end_time if closed_value is True else None)
    voters = doc.get("votersCount")
    if not isinstance(voters, int) or voters < 0:
        # Older Mastodon sends no votersCount: for a single-choice poll, votes = voters.
        voters = sum(count for _name, count in options) if not multiple else 0
    return {
        "question": question, "content_html": html, "multiple": multiple,
        "options": options, "end_time": end_time, "closed": closed, "voters_count": voters,
    }


async def remote_poll_for(db: AsyncSession, obj: ApObject) -> Poll | None:
    """Our mirror of the remote ``Question`` stored as ``obj``, refreshed from its stored
    document (None when it is not a readable poll)."""
    if obj.local or obj.type != "Question" or obj.deleted_at is not None:
        return None
    if obj.attributed_to_id is None:
        return None
    author = await db.get(Actor, obj.attributed_to_id)
    fields = question_fields(obj.payload or {})
    if author is None or fields is None:
        return None
    try:
        return await polls.record_remote_poll(db, author, ap_id=obj.ap_id, **fields)
    except ServiceError as exc:
        log.info("poll %s not mirrored: %s", obj.ap_id, exc)
        return None


@register_object_receiver("Question")
async def receive_question(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> ApObject | None:
    """Store a remote ``Question`` as a post (as every status), then mirror its poll."""
    stored = await receive_post(db, state, sender, activity, doc)
    if stored is not None:
        await remote_poll_for(db, stored)
    return stored


async def refresh_after_update(db: AsyncSession, activity: dict[str, Any]) -> None:
    """After an ``Update`` of a stored remote ``Question``: refresh our mirror of it."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        return
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if obj is not None and obj.type == "Question":
        await remote_poll_for(db, obj)
