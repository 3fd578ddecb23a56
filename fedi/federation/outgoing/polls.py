"""Subscribers to the poll events: polls federate as Mastodon-shaped ``Question``s.

=============  ===========================================================================
event          activity
=============  ===========================================================================
PollCreated    ``Create{Question}`` by the organiser; the tribe announces it (boost)
PollUpdated    ``Update{Question}`` (new question, closing time or options)
PollVoted      by a local person: one vote ``Create{Note}`` per chosen option, to the
               poll's author only (never public), as Mastodon votes; then, in a poll of
               ours with live results, ``Update{Question}`` with the new counts by the
               organiser (Mastodon sends the same after votes)
PollClosed     ``Update{Question}`` with ``closed`` and the final counts, also to every
               remote voter
PollDeleted    ``Delete{Tombstone}``; the id then answers 410
=============  ===========================================================================

Addressing is the Question's own (``documents.polls``). A poll about an initiative goes
the way of the initiative's activities (``outgoing.initiatives.deliver``: restricted
initiatives are announced only to who may see them); a tribe poll is announced by the
tribe like a member's post (``tribe_distribution.distribute``). Only a poll of ours is
ever sent for; a remote voter's vote is never echoed, only the organiser's ``Update``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_create
from activitypub.timefmt import format_datetime
from fedi.domain.events import subscribes
from fedi.domain.events_polls import (
    PollClosed,
    PollCreated,
    PollDeleted,
    PollUpdated,
    PollVoted,
)
from fedi.domain.polls import results_visible
from fedi.federation.documents.polls import (
    POLL_CONTEXT,
    question_addressing,
    question_document,
    remote_voters,
    vote_note,
)
from fedi.federation.outgoing.initiatives import deliver
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.outgoing.tribe_distribution import distribute
from fedi.settings import Settings
from models import Actor, Poll, utcnow

__all__ = ["send_question"]

log = logging.getLogger(__name__)


async def _author(db: AsyncSession, poll: Poll) -> Actor | None:
    author = poll.author or (await db.get(Actor, poll.author_id) if poll.author_id else None)
    return author if author is not None and author.local else None


async def send_question(
    db: AsyncSession, settings: Settings, poll: Poll, kind: str, *, to_voters: bool = False
) -> dict[str, Any] | None:
    """Send ``Create``/``Update``/``Delete`` of ``poll``'s Question from its organiser."""
    author = await _author(db, poll)
    if author is None or not poll.local:
        return None
    to, cc, tribe, initiative = await question_addressing(db, poll)
    if to_voters:
        cc += [v for v in await remote_voters(db, poll) if v not in cc and v not in to]
    if kind == "Delete":
        activity: dict[str, Any] = {
            "id": new_activity_id(settings, "delete"), "type": "Delete",
            "actor": author.ap_id, "object": {"id": poll.ap_id, "type": "Tombstone"},
            "to": to, "cc": cc,
        }
    else:
        question = await question_document(db, settings, poll)
        question.pop("@context", None)
        question["cc"] = cc
        activity = build_create(new_activity_id(settings, kind), author.ap_id, question, to, cc)
        activity["type"] = kind
    activity["@context"] = POLL_CONTEXT
    activity["published"] = format_datetime(utcnow())
    boost = kind == "Create"
    if initiative is not None:
        await deliver(db, settings, initiative, author, activity, boost=boost)
    else:
        await publish(db, settings, author, activity)
        if tribe is not None and tribe.actor.local:
            await distribute(db, settings, tribe, activity, boost=boost)
    return activity


@subscribes(PollCreated)
async def poll_created(db: AsyncSession, settings: Settings, event: PollCreated) -> None:
    """A new poll of ours: ``Create{Question}``."""
    await send_question(db, settings, event.poll, "Create")


@subscribes(PollUpdated)
async def poll_updated(db: AsyncSession, settings: Settings, event: PollUpdated) -> None:
    """An edited poll: ``Update{Question}``."""
    await send_question(db, settings, event.poll, "Update", to_voters=True)


@subscribes(PollClosed)
async def poll_closed(db: AsyncSession, settings: Settings, event: PollClosed) -> None:
    """The final result: ``Update{Question}`` with ``closed``, to the voters too."""
    await send_question(db, settings, event.poll, "Update", to_voters=True)


@subscribes(PollDeleted)
async def poll_deleted(db: AsyncSession, settings: Settings, event: PollDeleted) -> None:
    """A cancelled or deleted poll: ``Delete``."""
    await send_question(db, settings, event.poll, "Delete", to_voters=True)


@subscribes(PollVoted)
async def poll_voted(db: AsyncSession, settings: Settings, event: PollVoted) -> None:
    """New counts of a poll of ours, or a local person's vote in a remote one."""
    poll = event.poll
    if event.actor.local:
        await _send_votes(db, settings, event)
    if poll.local and results_visible(poll):
        await send_question(db, settings, poll, "Update", to_voters=True)


async def _send_votes(db: AsyncSession, settings: Settings, event: PollVoted) -> None:
    """One ``Create{Note}`` per chosen option to the poll's author (Mastodon's way): for a
    remote poll that is the vote itself; for a poll of ours only a record in the voter's
    outbox and the organiser's inbox (the vote is counted already)."""
    voter, poll = event.actor, event.poll
    author = poll.author or (await db.get(Actor, poll.author_id) if poll.author_id else None)
    if author is None:
        return
    options = {o.id: o for o in poll.options}
    for vote in event.votes:
        option = options.get(vote.option_id)
        if option is None:
            continue
        if not vote.ap_id:
            # Mastodon names votes ``<account>#votes/<id>``; they are never fetched.
            vote.ap_id = f"{voter.ap_id}#votes/{vote.id}"
        note = vote_note(vote, option, poll, author)
        activity = build_create(
            f"{vote.ap_id}/activity", voter.ap_id, note, [author.ap_id], []
        )
        activity["@context"] = POLL_CONTEXT
        await publish(db, settings, voter, activity)
    await db.flush()
