"""Following people: requests, acceptance, rejection, undo, and the collections they form.

One set of rules serves every path. A local person following anyone goes through
:func:`follow`, which records the request and publishes a ``Follow``. The followed side
always learns of it through :func:`receive_follow` — for a remote follower via the inbox,
for a local one via the ``InboxItem`` that ``publish()`` writes for local recipients — so a
locked local account gets a pending request exactly as it would from Mastodon.

Both instances keep their own ``Follow`` row for a cross-instance follow; on one instance a
local-to-local follow shares a single row, which is why every ``receive_*`` function here is
idempotent (it may find the row already in the state it is asked to produce).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_accept, build_follow, build_reject, build_undo
from activitypub.vocab import id_of
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.state import AppState
from models import Actor, Follow, OutboxActivity, utcnow

log = logging.getLogger(__name__)

PAGE_SIZE = 20


# ---------------------------------------------------------------- helpers


def follow_activity(follow: Follow, follower: Actor, followed: Actor) -> dict[str, Any]:
    """The ``Follow`` activity a row stands for, as it was sent (id, actor, object).

    Mastodon matches an ``Accept`` to its request by the embedded Follow's id and Lemmy
    reads ``actor``/``object`` from it, so rebuilding these three fields is enough.
    """
    activity = build_follow(follow.activity_ap_id, follower.ap_id, followed.ap_id)
    activity.pop("@context", None)
    return activity


async def _find(db: AsyncSession, follower: Actor, followed: Actor) -> Follow | None:
    return await db.scalar(
        select(Follow).where(Follow.follower_id == follower.id, Follow.followed_id == followed.id)
    )


async def _actor_by_ap_id(db: AsyncSession, ap_id: str | None) -> Actor | None:
    if not ap_id:
        return None
    return await db.scalar(select(Actor).where(Actor.ap_id == ap_id))


async def _publish_accept(
    db: AsyncSession, state: AppState, follow: Follow, follower: Actor, followed: Actor
) -> OutboxActivity:
    settings = state.settings
    accept = build_accept(
        new_activity_id(settings, "accept"),
        followed.ap_id,
        follow_activity(follow, follower, followed),
    )
    accept["to"] = [follower.ap_id]
    return await publish(db, settings, followed, accept)


async def _publish_reject(
    db: AsyncSession, state: AppState, follow: Follow, follower: Actor, followed: Actor
) -> OutboxActivity:
    settings = state.settings
    reject = build_reject(
        new_activity_id(settings, "reject"),
        followed.ap_id,
        follow_activity(follow, follower, followed),
    )
    reject["to"] = [follower.ap_id]
    return await publish(db, settings, followed, reject)


def _require_local(actor: Actor, what: str = "actor") -> None:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.", field=what)


# ---------------------------------------------------------------- local actions


async def follow(db: AsyncSession, state: AppState, follower: Actor, target: Actor) -> Follow:
    """Ask to follow ``target`` on behalf of the local ``follower`` and publish the ``Follow``.

    The row starts pending; it becomes accepted when the target's ``Accept`` arrives (for a
    local target that happens while the queued ``Follow`` is processed). Asking again while a
    request is pending sends the ``Follow`` again (Mastodon does the same: the first one may
    have been lost); asking while already following changes nothing.
    """
    _require_local(follower, "follower")
    if follower.id == target.id:
        raise ServiceError("You cannot follow yourself.")
    if target.gone_at is not None:
        raise NotFound("This account no longer exists.")
    if target.type not in ("Person", "Group", "Organization", "Service"):
        raise ServiceError("This cannot be followed.")
    row = await _find(db, follower, target)
    if row is not None and row.accepted:
        return row
    activity_id = new_activity_id(state.settings, "follow")
    if row is None:
        row = Follow(follower_id=follower.id, followed_id=target.id, activity_ap_id=activity_id)
        db.add(row)
    else:
        row.activity_ap_id = activity_id
    await db.flush()
    activity = build_follow(activity_id, follower.ap_id, target.ap_id)
    # Mastodon's Follow carries no addressing; publish() routes by it, and it is harmless.
    activity["to"] = [target.ap_id]
    await publish(db, state.settings, follower, activity)
    return row


async def unfollow(
    db: AsyncSession, state: AppState, follower: Actor, target: Actor
) -> OutboxActivity:
    """Stop following (or withdraw a request): delete the row and publish ``Undo{Follow}``."""
    _require_local(follower, "follower")
    row = await _find(db, follower, target)
    if row is None:
        raise NotFound("You are not following this account.")
    original = follow_activity(row, follower, target)
    await db.delete(row)
    await db.flush()
    undo = build_undo(new_activity_id(state.settings, "undo"), follower.ap_id, original)
    undo["to"] = [target.ap_id]
    return await publish(db, state.settings, follower, undo)


async def _pending_or_404(db: AsyncSession, owner: Actor, follower: Actor) -> Follow:
    row = await _find(db, follower, owner)
    if row is None:
        raise NotFound("There is no follow request from this account.")
    return row


async def accept_follow_request(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> OutboxActivity:
    """The local ``owner`` accepts ``follower``'s pending request and sends the ``Accept``."""
    _require_local(owner, "owner")
    row = await _pending_or_404(db, owner, follower)
    if row.accepted:
        raise Conflict("This account already follows you.")
    row.accepted = True
    row.accepted_at = utcnow()
    await db.flush()
    return await _publish_accept(db, state, row, follower, owner)


async def reject_follow_request(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> OutboxActivity:
    """The local ``owner`` turns down a pending request: delete it and send a ``Reject``."""
    _require_local(owner, "owner")
    row = await _pending_or_404(db, owner, follower)
    if row.accepted:
        raise Conflict("This account already follows you; remove the follower instead.")
    original = Follow(activity_ap_id=row.activity_ap_id)
    await db.delete(row)
    await db.flush()
    return await _publish_reject(db, state, original, follower, owner)


async def remove_follower(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> OutboxActivity:
    """Remove an accepted follower; Mastodon does this by sending ``Reject{Follow}`` too."""
    _require_local(owner, "owner")
    row = await _find(db, follower, owner)
    if row is None or not row.accepted:
        raise NotFound("This account does not follow you.")
    original = Follow(activity_ap_id=row.activity_ap_id)
    await db.delete(row)
    await db.flush()
    return await _publish_reject(db, state, original, follower, owner)


# ---------------------------------------------------------------- reading


async def follow_state(db: AsyncSession, viewer: Actor | None, target: Actor) -> str:
    """How ``viewer`` relates to ``target``: ``self``, ``following``, ``pending`` or ``none``."""
    if viewer is None:
        return "none"
    if viewer.id == target.id:
        return "self"
    row = await _find(db, viewer, target)
    if row is None:
        return "none"
    return "following" if row.accepted else "pending"


async def count_followers(db: AsyncSession, actor: Actor) -> int:
    """How many accepted followers ``actor`` has."""
    return int(
        await db.scalar(
            select(func.count(Follow.id)).where(
                Follow.followed_id == actor.id, Follow.accepted.is_(True)
            )
        )
        or 0
    )


async def count_following(db: AsyncSession, actor: Actor) -> int:
    """How many actors ``actor`` follows (accepted follows only)."""
    return int(
        await db.scalar(
            select(func.count(Follow.id)).where(
                Follow.follower_id == actor.id, Follow.accepted.is_(True)
            )
        )
        or 0
    )


async def followers_page(
    db: AsyncSession, actor: Actor, page: int = 1, size: int = PAGE_SIZE
) -> tuple[int, list[Actor]]:
    """The total of accepted followers and one page of them, newest first."""
    page = max(1, page)
    total = await count_followers(db, actor)
    rows = (
        await db.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == actor.id, Follow.accepted.is_(True))
            .order_by(Follow.accepted_at.desc(), Follow.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    return total, list(rows)


async def following_page(
    db: AsyncSession, actor: Actor, page: int = 1, size: int = PAGE_SIZE
) -> tuple[int, list[Actor]]:
    """The total of actors ``actor`` follows (accepted) and one page of them, newest first."""
    page = max(1, page)
    total = await count_following(db, actor)
    rows = (
        await db.scalars(
            select(Actor)
            .join(Follow, Follow.followed_id == Actor.id)
            .where(Follow.follower_id == actor.id, Follow.accepted.is_(True))
            .order_by(Follow.accepted_at.desc(), Follow.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    return total, list(rows)


async def pending_requests(db: AsyncSession, owner: Actor) -> list[Actor]:
    """Accounts waiting for ``owner`` to accept their follow request, oldest first."""
    rows = (
        await db.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == owner.id, Follow.accepted.is_(False))
            .order_by(Follow.created_at, Follow.id)
        )
    ).all()
    return list(rows)


async def outgoing_pending(db: AsyncSession, follower: Actor) -> list[Actor]:
    """Accounts ``follower`` asked to follow that have not answered yet."""
    rows = (
        await db.scalars(
            select(Actor)
            .join(Follow, Follow.followed_id == Actor.id)
            .where(Follow.follower_id == follower.id, Follow.accepted.is_(False))
            .order_by(Follow.created_at, Follow.id)
        )
    ).all()
    return list(rows)


# ---------------------------------------------------------------- inbound


async def receive_follow(
    db: AsyncSession, state: AppState, follower: Actor, activity: dict[str, Any]
) -> Follow | None:
    """Handle a ``Follow`` sent by ``follower`` to one of our actors.

    An unlocked target accepts at once (``Accept`` embedding the Follow as received); a
    locked one keeps a pending request for its owner. A repeated Follow from an accepted
    follower is answered with another ``Accept``: Mastodon re-sends Follow when it believes
    the follow was lost, and waits for that answer.
    """
    target = await _actor_by_ap_id(db, id_of(activity.get("object")))
    if target is None or not target.local or target.gone_at is not None:
        log.info("Follow %s of an unknown or remote actor ignored", activity.get("id"))
        return None
    if target.id == follower.id:
        return None
    if target.type == "Group":
        # A tribe: following is joining (FEP-1b12, how Mastodon and Lemmy users join).
        return await _follow_tribe(db, state, follower, target, activity)
    activity_id = id_of(activity.get("id")) or ""
    row = await _find(db, follower, target)
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
    await _publish_accept(db, state, row, follower, target)
    return row


async def _follow_tribe(
    db: AsyncSession, state: AppState, follower: Actor, group: Actor, activity: dict[str, Any]
) -> Follow | None:
    """A Follow of a tribe's Group actor goes through the tribe's join rules.

    The tribe hooks keep the ``Follow`` row and answer: ``Accept`` when the follower is
    now a member, nothing yet for a request in an approval tribe (admins decide in the
    web), ``Reject`` for blocked and uninvited people.
    """
    from fedi.domain.tribes import find_tribe_by_actor
    from fedi.federation.incoming.tribes import receive_tribe_follow

    tribe = await find_tribe_by_actor(db, group)
    if tribe is None:
        return None
    await receive_tribe_follow(db, state, tribe, follower, activity)
    row = await _find(db, follower, group)
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
        follower = await _actor_by_ap_id(db, id_of(reference.get("actor")))
        followed = await _actor_by_ap_id(db, id_of(reference.get("object")))
        if follower is not None and followed is not None:
            row = await _find(db, follower, followed)
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
        from fedi.domain.tribes import find_tribe_by_actor
        from fedi.federation.incoming.tribes import receive_tribe_leave

        tribe = await find_tribe_by_actor(db, followed)
        if tribe is not None and await receive_tribe_leave(db, state, tribe, sender):
            return
    await db.delete(row)
    await db.flush()


async def drop_follows_of(db: AsyncSession, actor: Actor) -> None:
    """Delete every follow from and to ``actor`` (its account was deleted)."""
    await db.execute(
        delete(Follow).where((Follow.follower_id == actor.id) | (Follow.followed_id == actor.id))
    )
