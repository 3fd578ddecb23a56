"""The ``Question`` of a poll of ours, shaped the way Mastodon sends and reads polls.

Mastodon (and FEP-9967) reads: ``oneOf`` (single choice) or ``anyOf`` (multiple choice),
each option a ``Note`` with ``name`` and ``replies: {type: Collection, totalItems}``;
``endTime``; ``closed`` once it closed; ``votersCount`` (``toot:votersCount``). It shows
``content`` as the status text, so the question is in ``content`` (and ``name``). While the
results are hidden until closing, the per-option counts are left out (only
``votersCount`` is sent). Addressing follows a tribe post (Public, the tribe in ``cc``, the
organiser's followers) or, for a poll about an initiative, the initiative's messages (a
members-only initiative keeps its poll among the tribe). The vote ``Note`` we send for a
local person voting in a remote poll is built here too.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.timefmt import format_datetime
from activitypub.vocab import AS_CONTEXT, PUBLIC
from fedi.domain.polls import results_visible
from fedi.federation.documents.initiatives import note_addressing
from fedi.settings import Settings
from models import Actor, Initiative, Poll, PollOption, PollVote, Tribe

__all__ = [
    "POLL_CONTEXT",
    "question_addressing",
    "question_document",
    "remote_voters",
    "vote_note",
]

POLL_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {"toot": "http://joinmastodon.org/ns#", "votersCount": "toot:votersCount"},
]


def _ts(value: Any) -> str | None:
    return format_datetime(value) if value is not None else None


async def question_addressing(
    db: AsyncSession, poll: Poll
) -> tuple[list[str], list[str], Tribe | None, Initiative | None]:
    """``to``, ``cc``, the tribe and the initiative of a poll of ours."""
    tribe = await db.get(Tribe, poll.tribe_id) if poll.tribe_id else None
    initiative = await db.get(Initiative, poll.initiative_id) if poll.initiative_id else None
    author = poll.author or (await db.get(Actor, poll.author_id) if poll.author_id else None)
    if initiative is not None:
        to, cc = await note_addressing(db, initiative)
        return list(to), list(cc), tribe, initiative
    cc = [tribe.actor.ap_id] if tribe is not None else []
    if author is not None and author.followers_url:
        cc.append(author.followers_url)
    return [PUBLIC], cc, tribe, None


def _option(option: PollOption, counts: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Note", "name": option.name}
    if counts:
        doc["replies"] = {"type": "Collection", "totalItems": option.votes_count}
    return doc


async def question_document(db: AsyncSession, settings: Settings, poll: Poll) -> dict[str, Any]:
    """The ``Question`` of ``poll`` (see the module notes)."""
    to, cc, tribe, initiative = await question_addressing(db, poll)
    author = poll.author or (await db.get(Actor, poll.author_id) if poll.author_id else None)
    ap_id = poll.ap_id or settings.url(f"/polls/{poll.id}")
    counts = results_visible(poll)
    options = [_option(o, counts) for o in poll.options]
    doc: dict[str, Any] = {
        "@context": POLL_CONTEXT,
        "id": ap_id,
        "type": "Question",
        "name": poll.question,
        "content": f"<p>{escape(poll.question, quote=False)}</p>",
        "mediaType": "text/html",
        "url": ap_id,
        "published": _ts(poll.created_at),
        "updated": _ts(poll.updated_at),
        "endTime": _ts(poll.end_time),
        "votersCount": poll.voters_count,
        "anyOf" if poll.multiple else "oneOf": options,
        "to": to,
        "cc": cc,
    }
    if author is not None:
        doc["attributedTo"] = author.ap_id
    if poll.closed_at is not None:
        doc["closed"] = _ts(poll.closed_at)
    if tribe is not None:
        doc["audience"] = tribe.actor.ap_id
    if initiative is not None and initiative.ap_id:
        doc["context"] = initiative.ap_id
    return {k: v for k, v in doc.items() if v is not None}


async def remote_voters(db: AsyncSession, poll: Poll) -> list[str]:
    """The ids of the remote people who voted in ``poll`` (they hear of the result)."""
    rows = await db.scalars(
        select(Actor.ap_id)
        .join(PollVote, PollVote.voter_id == Actor.id)
        .where(PollVote.poll_id == poll.id, Actor.local.is_(False))
        .distinct()
    )
    return sorted(rows.all())


def vote_note(vote: PollVote, option: PollOption, poll: Poll, author: Actor) -> dict[str, Any]:
    """The vote as Mastodon sends it: a ``Note`` with ``name`` = the option and
    ``inReplyTo`` = the question, addressed to the poll's author only (never public)."""
    return {
        "id": vote.ap_id,
        "type": "Note",
        "name": option.name,
        "attributedTo": vote.voter.ap_id,
        "inReplyTo": poll.ap_id,
        "to": [author.ap_id],
    }
