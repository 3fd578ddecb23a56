"""Likes (Mastodon "favourites") and boosts (``Announce``) of notes, and undoing them.

A ``Like`` is addressed to the note's author only. A boost is public: addressed to Public
and the booster's followers, with the author in ``cc`` so they hear of it. Both are
recorded as ``models.Reaction`` rows keyed by the activity id, on every instance involved;
the services emit :class:`Reacted`/:class:`Unreacted` and the federation layer sends the
activities. A note not stored yet must be fetched by the caller first
(``fedi.federation.incoming.notes.get_or_fetch_object``): this module does no network I/O.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_social import Reacted, Unreacted
from fedi.domain.ids import new_activity_id
from fedi.domain.notes import can_see
from fedi.state import AppState
from models import Actor, ApObject, Reaction

log = logging.getLogger(__name__)

LIKE = "Like"
ANNOUNCE = "Announce"


async def _visible_object(
    db: AsyncSession, actor: Actor, object_ap_id: str
) -> tuple[ApObject, Actor]:
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_ap_id))
    if obj is None or obj.deleted_at is not None or not await can_see(db, actor, obj):
        raise NotFound("This note does not exist.")
    author = await db.get(Actor, obj.attributed_to_id) if obj.attributed_to_id else None
    if author is None:
        raise NotFound("This note does not exist.")
    return obj, author


async def find_reaction(
    db: AsyncSession, actor: Actor, kind: str, object_ap_id: str
) -> Reaction | None:
    """``actor``'s reaction of this kind to the object, or None."""
    return await db.scalar(
        select(Reaction).where(
            Reaction.actor_id == actor.id,
            Reaction.kind == kind,
            Reaction.object_ap_id == object_ap_id,
        )
    )


async def _react(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str, kind: str
) -> Reaction:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.")
    obj, author = await _visible_object(db, actor, object_ap_id)
    if kind == ANNOUNCE and obj.visibility not in ("public", "unlisted"):
        raise ServiceError("Only public notes can be boosted.")
    existing = await find_reaction(db, actor, kind, obj.ap_id)
    if existing is not None:
        return existing
    settings = state.settings
    reaction = Reaction(
        kind=kind, actor_id=actor.id, object_ap_id=obj.ap_id,
        activity_ap_id=new_activity_id(settings, kind.lower()),
    )
    db.add(reaction)
    await db.flush()
    await emit(db, settings, Reacted(actor=actor, reaction=reaction, note=obj, author=author))
    return reaction


async def _unreact(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str, kind: str
) -> str:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.")
    reaction = await find_reaction(db, actor, kind, object_ap_id)
    if reaction is None:
        raise NotFound("There is nothing to undo.")
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_ap_id))
    author = (
        await db.get(Actor, obj.attributed_to_id) if obj and obj.attributed_to_id else None
    )
    await db.delete(reaction)
    await db.flush()
    activity_id = new_activity_id(state.settings, "undo")
    await emit(
        db, state.settings,
        Unreacted(
            actor=actor, reaction=reaction, object_ap_id=object_ap_id, author=author,
            activity_id=activity_id,
        ),
    )
    return activity_id


async def like(db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str) -> Reaction:
    """Like a stored note (the caller fetches an unknown one first); liking twice is a no-op."""
    return await _react(db, state, actor, object_ap_id, LIKE)


async def unlike(db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str) -> str:
    """Take a like back: delete it; returns the id of the ``Undo{Like}``."""
    return await _unreact(db, state, actor, object_ap_id, LIKE)


async def announce(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> Reaction:
    """Boost a public note to one's followers; boosting twice is a no-op."""
    return await _react(db, state, actor, object_ap_id, ANNOUNCE)


async def unannounce(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> str:
    """Take a boost back: delete it; returns the id of the ``Undo{Announce}``."""
    return await _unreact(db, state, actor, object_ap_id, ANNOUNCE)
