"""Incoming follows: ``Follow``, ``Accept``/``Reject`` of our requests and ``Undo{Follow}``.

Both instances keep their own ``Follow`` row for a cross-instance follow; on one instance a
local-to-local follow shares a single row, which is why every ``receive_*`` function here is
idempotent (it may find the row already in the state it is asked to produce).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub.vocab import id_of
from fedi.domain import follows
from fedi.domain.ids import new_activity_id
from fedi.domain.tribes import find_tribe_by_actor
from fedi.federation.incoming.tribes import receive_tribe_follow, receive_tribe_leave
from fedi.federation.outgoing.follows import send_accept
from fedi.state import AppState
from models import Actor, Follow, utcnow

log = logging.getLogger(__name__)

# Built once (the inbox asks it for every Follow).
_ACTOR_BY_AP_ID = (
    select(Actor).where(Actor.ap_id == bindparam("ap_id")).options(lazyload(Actor.talents))
)


async def follow_target(db: AsyncSession, activity: dict[str, Any]) -> Actor | None:
    """The stored actor a ``Follow`` is for (None when unknown), without its talents:
    nothing the inbox does with it shows them."""
    ap_id = id_of(activity.get("object"))
    if not ap_id:
        return None
    return await db.scalar(_ACTOR_BY_AP_ID, {"ap_id": ap_id})


async def receive_follow(
    db: AsyncSession, state: AppState, follower: Actor, activity: dict[str, Any]
) -> Follow | None:
    """Handle a ``Follow`` sent by ``follower`` to one of our actors.

    An unlocked target accepts at once (``Accept`` embedding the Follow as received); a
    locked one keeps a pending request for its owner. A repeated Follow from an accepted
    follower is answered with another ``Accept``: Mastodon re-sends Follow when it believes
    the follow was lost, and waits for that answer.
    """
    target = await follow_target(db, activity)
    return await receive_follow_of(db, state, follower, activity, target)


async def receive_follow_of(
    db: AsyncSession, state: AppState, follower: Actor, activity: dict[str, Any],
    target: Actor | None,
) -> Follow | None:
    """:func:`receive_follow` for a ``target`` the caller looked up with
    :func:`follow_target` (and keeps, for its notification)."""
    if target is None or not target.local or target.gone_at is not None:
        log.info("Follow %s of an unknown or remote actor ignored", activity.get("id"))
        return None
    if target.id == follower.id:
        return None
    if target.type == "Group":
        # A tribe: following is joining (FEP-1b12, how Mastodon and Lemmy users join).
        return await _follow_tribe(db, state, follower, target, activity)
    activity_id = id_of(activity.get("id")) or ""
    row = await follows.find_follow(db, follower, target)
    if row is None:
        row = Follow(follower_id=follower.id, followed_id=target.id, activity_ap_id=activity_id)
        db.add(row)
    elif activity_id:
        row.activity_ap_id = activity_id
    if not row.accepted and target.manually_approves_followers:
        await db.flush()
        return row
    if not row.accepted:
        row.accepted = True
        row.accepted_at = utcnow()
    await db.flush()
    await send_accept(
        db, state.settings, new_activity_id(state.settings, "accept"), row.activity_ap_id,
        follower, target,
    )
    return row


async def _follow_tribe(
    db: AsyncSession, state: AppState, follower: Actor, group: Actor, activity: dict[str, Any]
) -> Follow | None:
    """A Follow of a tribe's Group actor goes through the tribe's join rules.

    The tribe hooks keep the ``Follow`` row and answer: ``Accept`` when the follower is
    now a member, nothing yet for a request in an approval tribe (admins decide in the
    web), ``Reject`` for blocked and uninvited people.
    """

    tribe = await find_tribe_by_actor(db, group)
    if tribe is None:
        return None
    await receive_tribe_follow(db, state, tribe, follower, activity)
    row = await follows.find_follow(db, follower, group)
    if row is None:
        # Refused (a Reject went out): answer with an unsaved row so the handler does not
        # mark the item ignored, which would roll the Reject back.
        row = Follow(
            follower_id=follower.id, followed_id=group.id,
            activity_ap_id=id_of(activity.get("id")) or "", accepted=False,
        )
    return row


async def _follow_from_reference(
    db: AsyncSession, reference: Any
) -> tuple[Follow | None, Actor | None, Actor | None]:
    """Find the Follow row an Accept/Reject/Undo refers to (embedded Follow or bare id)."""
    ref_id = id_of(reference)
    row: Follow | None = None
    if ref_id:
        row = await db.scalar(select(Follow).where(Follow.activity_ap_id == ref_id))
    if row is None and isinstance(reference, dict):
        follower = await follows.actor_by_ap_id(db, id_of(reference.get("actor")))
        followed = await follows.actor_by_ap_id(db, id_of(reference.get("object")))
        if follower is not None and followed is not None:
            row = await follows.find_follow(db, follower, followed)
    if row is None:
        return None, None, None
    follower_actor = await db.get(Actor, row.follower_id)
    followed_actor = await db.get(Actor, row.followed_id)
    return row, follower_actor, followed_actor


async def receive_accept(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Follow | None:
    """Handle ``Accept{Follow}``: our pending follow of ``sender`` becomes accepted.

    Only the followed actor may accept; the Follow is found by its id, or by the embedded
    actor/object pair (Mobilizon and older Lemmy send a Follow id of their own making).
    """
    row, _follower, followed = await _follow_from_reference(db, activity.get("object"))
    if row is None or followed is None or followed.id != sender.id:
        log.info("Accept %s matches no follow request of ours", activity.get("id"))
        return None
    if not row.accepted:
        row.accepted = True
        row.accepted_at = utcnow()
        await db.flush()
    return row


async def receive_reject(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Reject{Follow}``: ``sender`` refused (or removed) our follow; drop the row."""
    row, _follower, followed = await _follow_from_reference(db, activity.get("object"))
    if row is None or followed is None or followed.id != sender.id:
        log.info("Reject %s matches no follow of ours", activity.get("id"))
        return
    await db.delete(row)
    await db.flush()


async def receive_undo_follow(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Undo{Follow}``: ``sender`` stops following (or withdraws the request)."""
    row, follower, followed = await _follow_from_reference(db, activity.get("object"))
    if row is None or follower is None or follower.id != sender.id:
        return
    if followed is not None and followed.type == "Group" and followed.local:
        # Unfollowing a tribe is leaving it; its hook ends the follow.

        tribe = await find_tribe_by_actor(db, followed)
        if tribe is not None and await receive_tribe_leave(db, state, tribe, sender):
            return
    await db.delete(row)
    await db.flush()
