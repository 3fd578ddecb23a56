"""Sending likes and boosts, and their ``Undo``.

Subscribers of :class:`Reacted`/:class:`Unreacted`. A ``Like`` goes to the note's author; a
boost to Public and the booster's followers with the author in ``cc``. When the note is a
post of one of our tribes, the tribe announces the like (or its undo) to its followers as it
does for a remote member's (FEP-1b12).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_announce, build_like, build_undo
from activitypub.vocab import AS_CONTEXT, PUBLIC
from fedi.domain.events import subscribes
from fedi.domain.events_social import Reacted, Unreacted
from fedi.domain.local_actors import followers_url_of
from fedi.federation.incoming.tribes import route_object_activity
from fedi.federation.outgoing.publish import publish
from fedi.settings import Settings
from models import Actor, Reaction, utcnow

LIKE = "Like"


def _addressing(kind: str, actor: Actor, author: Actor) -> tuple[list[str], list[str]]:
    if kind == LIKE:
        return [author.ap_id], []
    return [PUBLIC], [author.ap_id, followers_url_of(actor)]


def _rebuild(reaction: Reaction, actor: Actor, author: Actor | None) -> dict[str, Any]:
    """The Like/Announce a reaction row stands for, to embed in its ``Undo``."""
    if reaction.kind == LIKE:
        doc = build_like(reaction.activity_ap_id, actor.ap_id, reaction.object_ap_id)
    else:
        to, cc = _addressing(reaction.kind, actor, author) if author else ([PUBLIC], [])
        doc = build_announce(
            reaction.activity_ap_id, actor.ap_id, reaction.object_ap_id, to, cc, None
        )
    doc.pop("@context", None)
    return doc


@subscribes(Reacted)
async def on_reacted(db: AsyncSession, settings: Settings, event: Reacted) -> None:
    """Send the ``Like`` or ``Announce``; a tribe that has the note announces a like."""
    actor, reaction = event.actor, event.reaction
    if not actor.local:
        return
    to, cc = _addressing(reaction.kind, actor, event.author)
    if reaction.kind == LIKE:
        activity = build_like(reaction.activity_ap_id, actor.ap_id, event.note.ap_id)
        activity["to"] = to
    else:
        activity = build_announce(
            reaction.activity_ap_id, actor.ap_id, event.note.ap_id, to, cc, utcnow()
        )
    activity["@context"] = AS_CONTEXT
    outbox = await publish(db, settings, actor, activity)
    if reaction.kind == LIKE:
        await route_object_activity(db, settings, actor, outbox.payload, event.note.ap_id)


@subscribes(Unreacted)
async def on_unreacted(db: AsyncSession, settings: Settings, event: Unreacted) -> None:
    """Send ``Undo`` of the like or boost, to whoever received it."""
    actor, reaction = event.actor, event.reaction
    if not actor.local:
        return
    original = _rebuild(reaction, actor, event.author)
    undo = build_undo(event.activity_id, actor.ap_id, original)
    if reaction.kind == LIKE:
        undo["to"] = [event.author.ap_id] if event.author else []
    else:
        undo["to"] = original.get("to", [])
        undo["cc"] = original.get("cc", [])
    outbox = await publish(db, settings, actor, undo)
    if reaction.kind == LIKE:
        await route_object_activity(db, settings, actor, outbox.payload, event.object_ap_id)
