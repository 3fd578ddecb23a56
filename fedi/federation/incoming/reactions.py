"""Incoming reactions: ``Like``, Lemmy's ``Dislike``, ``Announce`` (a boost) and their ``Undo``.

Each is recorded once as a ``models.Reaction`` keyed by the activity id; the tribes that
have the note as a post then announce it (FEP-1b12).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub.vocab import id_of
from fedi.domain import reactions
from fedi.domain.errors import NotFound
from fedi.domain.notes import can_see
from fedi.federation.incoming.group_announces import receive_group_announce
from fedi.federation.incoming.posts import get_or_fetch_object
from fedi.federation.incoming.tribes import route_object_activity
from fedi.state import AppState
from models import Actor, ApObject, Reaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """A reaction stored (or found stored) by the inbox, with the note it is about and
    that note's author as loaded for the visibility check (for the notification)."""

    reaction: Reaction
    note: ApObject
    author: Actor | None


async def _receive_full(
    db: AsyncSession, sender: Actor, activity: dict[str, Any], kind: str, obj: ApObject | None
) -> Received | None:
    activity_id = id_of(activity.get("id"))
    if not activity_id or obj is None or obj.deleted_at is not None:
        return None
    # Loaded here (without the talents nothing here shows) and kept: the visibility check
    # and the notification then find it in the session instead of loading it again.
    author = (
        await db.get(Actor, obj.attributed_to_id, options=[lazyload(Actor.talents)])
        if obj.attributed_to_id is not None else None
    )
    if not await can_see(db, sender, obj):
        return None
    # One statement for both ways a reaction may be stored already: under this activity
    # id (a redelivery), or the sender's reaction of this kind to the note (each unique).
    found = list(await db.scalars(
        _STORED,
        {"activity": activity_id, "actor": sender.id, "kind": kind, "object": obj.ap_id},
    ))
    existing = next((r for r in found if r.activity_ap_id == activity_id), None)
    if existing is None and found:
        existing = found[0]
    if existing is not None:
        return Received(existing, obj, author)
    reaction = Reaction(
        kind=kind, actor_id=sender.id, object_ap_id=obj.ap_id, activity_ap_id=activity_id
    )
    db.add(reaction)
    await db.flush()
    return Received(reaction, obj, author)


# Built once, as the statements below (the inbox asks them for every reaction).
_STORED = select(Reaction).where(
    or_(
        Reaction.activity_ap_id == bindparam("activity"),
        and_(
            Reaction.actor_id == bindparam("actor"),
            Reaction.kind == bindparam("kind"),
            Reaction.object_ap_id == bindparam("object"),
        ),
    )
)
_OBJECT = select(ApObject).where(ApObject.ap_id == bindparam("ap_id"))


async def _receive(
    db: AsyncSession, sender: Actor, activity: dict[str, Any], kind: str, obj: ApObject | None
) -> Reaction | None:
    received = await _receive_full(db, sender, activity, kind, obj)
    return received.reaction if received is not None else None


async def take_like(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Received | None:
    """Handle ``Like`` of a note we know (others are ignored); stored once. What was
    stored, with the note and its author."""
    object_id = id_of(activity.get("object"))
    if not object_id:
        return None
    obj = await db.scalar(_OBJECT, {"ap_id": object_id})
    received = await _receive_full(db, sender, activity, reactions.LIKE, obj)
    if received is not None:
        await _tribes_take(db, state, sender, activity, object_id)
    return received


async def receive_like(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Reaction | None:
    """Handle ``Like`` of a note we know (others are ignored); stored once."""
    received = await take_like(db, state, sender, activity)
    return received.reaction if received is not None else None


async def _tribes_take(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any], object_id: str
) -> int:
    """Let the tribes that have ``object_id`` as a post announce this reaction (FEP-1b12)."""

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

        return await receive_group_announce(db, state, sender, activity)
    try:
        obj: ApObject | None = await get_or_fetch_object(db, state, object_id)
    except NotFound:
        obj = None
    return await _receive(db, sender, activity, reactions.ANNOUNCE, obj)


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
        if kind in (reactions.LIKE, reactions.ANNOUNCE) and object_id:
            reaction = await reactions.find_reaction(db, sender, str(kind), object_id)
    if reaction is None or reaction.actor_id != sender.id:
        if isinstance(inner, dict) and inner.get("type") == "Dislike":
            await _tribes_take(db, state, sender, activity, id_of(inner.get("object")) or "")
        return
    object_id = reaction.object_ap_id
    await db.delete(reaction)
    await db.flush()
    await _tribes_take(db, state, sender, activity, object_id)
