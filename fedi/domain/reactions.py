"""Likes (Mastodon "favourites") and boosts (``Announce``) of notes, and undoing them.

A ``Like`` is addressed to the note's author only. A boost is public: addressed to Public
and the booster's followers, with the author in ``cc`` so they hear of it. Both are
recorded as ``models.Reaction`` rows keyed by the activity id, on every instance involved.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_announce, build_like, build_undo
from activitypub.vocab import AS_CONTEXT, PUBLIC, id_of
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.notes import can_see, followers_url_of, get_or_fetch_object
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.state import AppState
from models import Actor, ApObject, OutboxActivity, Reaction, utcnow

log = logging.getLogger(__name__)

LIKE = "Like"
ANNOUNCE = "Announce"


async def _visible_object(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> tuple[ApObject, Actor]:
    obj = await get_or_fetch_object(db, state, object_ap_id)
    if obj.deleted_at is not None or not await can_see(db, actor, obj):
        raise NotFound("This note does not exist.")
    author = await db.get(Actor, obj.attributed_to_id) if obj.attributed_to_id else None
    if author is None:
        raise NotFound("This note does not exist.")
    return obj, author


async def _existing(
    db: AsyncSession, actor: Actor, kind: str, object_ap_id: str
) -> Reaction | None:
    return await db.scalar(
        select(Reaction).where(
            Reaction.actor_id == actor.id,
            Reaction.kind == kind,
            Reaction.object_ap_id == object_ap_id,
        )
    )


def _addressing(kind: str, actor: Actor, author: Actor) -> tuple[list[str], list[str]]:
    if kind == LIKE:
        return [author.ap_id], []
    return [PUBLIC], [author.ap_id, followers_url_of(actor)]


def _rebuild(reaction: Reaction, actor: Actor, author: Actor | None) -> dict[str, Any]:
    """The Like/Announce a reaction row stands for, to embed in its ``Undo``."""
    if reaction.kind == LIKE:
        doc = build_like(reaction.activity_ap_id, actor.ap_id, reaction.object_ap_id)
    else:
        to, cc = _addressing(ANNOUNCE, actor, author) if author else ([PUBLIC], [])
        doc = build_announce(
            reaction.activity_ap_id, actor.ap_id, reaction.object_ap_id, to, cc, None
        )
    doc.pop("@context", None)
    return doc


async def _react(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str, kind: str
) -> Reaction:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.")
    obj, author = await _visible_object(db, state, actor, object_ap_id)
    if kind == ANNOUNCE and obj.visibility not in ("public", "unlisted"):
        raise ServiceError("Only public notes can be boosted.")
    existing = await _existing(db, actor, kind, obj.ap_id)
    if existing is not None:
        return existing
    settings = state.settings
    activity_id = new_activity_id(settings, kind.lower())
    reaction = Reaction(
        kind=kind, actor_id=actor.id, object_ap_id=obj.ap_id, activity_ap_id=activity_id
    )
    db.add(reaction)
    await db.flush()
    to, cc = _addressing(kind, actor, author)
    if kind == LIKE:
        activity = build_like(activity_id, actor.ap_id, obj.ap_id)
        activity["to"] = to
    else:
        activity = build_announce(activity_id, actor.ap_id, obj.ap_id, to, cc, utcnow())
    activity["@context"] = AS_CONTEXT
    await publish(db, settings, actor, activity)
    return reaction


async def _unreact(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str, kind: str
) -> OutboxActivity:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.")
    reaction = await _existing(db, actor, kind, object_ap_id)
    if reaction is None:
        raise NotFound("There is nothing to undo.")
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_ap_id))
    author = (
        await db.get(Actor, obj.attributed_to_id) if obj and obj.attributed_to_id else None
    )
    original = _rebuild(reaction, actor, author)
    await db.delete(reaction)
    await db.flush()
    undo = build_undo(new_activity_id(state.settings, "undo"), actor.ap_id, original)
    if kind == LIKE:
        undo["to"] = [author.ap_id] if author else []
    else:
        undo["to"] = original.get("to", [])
        undo["cc"] = original.get("cc", [])
    return await publish(db, state.settings, actor, undo)


async def like(db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str) -> Reaction:
    """Like a note (fetched from its origin if we do not have it); liking twice is a no-op."""
    return await _react(db, state, actor, object_ap_id, LIKE)


async def unlike(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> OutboxActivity:
    """Take a like back: delete it and publish ``Undo{Like}``."""
    return await _unreact(db, state, actor, object_ap_id, LIKE)


async def announce(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> Reaction:
    """Boost a public note to one's followers; boosting twice is a no-op."""
    return await _react(db, state, actor, object_ap_id, ANNOUNCE)


async def unannounce(
    db: AsyncSession, state: AppState, actor: Actor, object_ap_id: str
) -> OutboxActivity:
    """Take a boost back: delete it and publish ``Undo{Announce}``."""
    return await _unreact(db, state, actor, object_ap_id, ANNOUNCE)


# ---------------------------------------------------------------- inbound


async def _receive(
    db: AsyncSession, sender: Actor, activity: dict[str, Any], kind: str, obj: ApObject | None
) -> Reaction | None:
    activity_id = id_of(activity.get("id"))
    if not activity_id or obj is None or obj.deleted_at is not None:
        return None
    if not await can_see(db, sender, obj):
        return None
    by_id = await db.scalar(select(Reaction).where(Reaction.activity_ap_id == activity_id))
    if by_id is not None:
        return by_id
    existing = await _existing(db, sender, kind, obj.ap_id)
    if existing is not None:
        return existing
    reaction = Reaction(
        kind=kind, actor_id=sender.id, object_ap_id=obj.ap_id, activity_ap_id=activity_id
    )
    db.add(reaction)
    await db.flush()
    return reaction


async def receive_like(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Reaction | None:
    """Handle ``Like`` of a note we know (others are ignored); stored once."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        return None
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    reaction = await _receive(db, sender, activity, LIKE, obj)
    if reaction is not None:
        await _tribes_take(db, state, sender, activity, object_id)
    return reaction


async def _tribes_take(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any], object_id: str
) -> int:
    """Let the tribes that have ``object_id`` as a post announce this reaction (FEP-1b12)."""
    from fedi.federation.incoming.tribes import route_object_activity

    return await route_object_activity(db, state.settings, sender, activity, object_id)


async def receive_dislike(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> int:
    """Handle Lemmy's ``Dislike`` (a down-vote): not counted here, but a tribe announces
    it when the post is one of its own, so Lemmy instances keep their scores right."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        return 0
    return await _tribes_take(db, state, sender, activity, object_id)


async def receive_announce(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Any:
    """Handle ``Announce`` (a boost) of a note.

    A note we do not have yet is fetched from its origin — never taken from the embedded
    copy, which the booster could have forged. An ``Announce`` wrapping an activity (a
    group forwarding under FEP-1b12) is not a boost and is left for the groups feature.
    """
    obj_ref = activity.get("object")
    object_id = id_of(obj_ref)
    if not object_id:
        return None
    if isinstance(obj_ref, dict) and obj_ref.get("type") in (
        "Create", "Update", "Delete", "Like", "Undo", "Announce", "Follow", "Dislike",
        "Add", "Remove",
    ):
        # A group forwarding a member's activity (FEP-1b12): the tribes code handles it.
        from fedi.federation.incoming.tribes import receive_group_announce

        return await receive_group_announce(db, state, sender, activity)
    try:
        obj: ApObject | None = await get_or_fetch_object(db, state, object_id)
    except NotFound:
        obj = None
    return await _receive(db, sender, activity, ANNOUNCE, obj)


async def receive_undo_reaction(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Undo{Like}`` / ``Undo{Announce}``: drop the sender's reaction."""
    inner = activity.get("object")
    inner_id = id_of(inner)
    reaction = None
    if inner_id:
        reaction = await db.scalar(select(Reaction).where(Reaction.activity_ap_id == inner_id))
    if reaction is None and isinstance(inner, dict):
        kind = inner.get("type")
        object_id = id_of(inner.get("object"))
        if kind in (LIKE, ANNOUNCE) and object_id:
            reaction = await _existing(db, sender, str(kind), object_id)
    if reaction is None or reaction.actor_id != sender.id:
        if isinstance(inner, dict) and inner.get("type") == "Dislike":
            await _tribes_take(db, state, sender, activity, id_of(inner.get("object")) or "")
        return
    object_id = reaction.object_ap_id
    await db.delete(reaction)
    await db.flush()
    await _tribes_take(db, state, sender, activity, object_id)
