"""Following people: requests, acceptance, rejection, undo, and the collections they form.

One set of rules serves every path. A local person following anyone goes through
:func:`follow`, which records the request and emits :class:`FollowRequested` (the federation
layer sends the ``Follow`` to a remote target). When the target is local too, this service
answers at once, in the same transaction: an unlocked account accepts, a locked one keeps a
pending request for its owner, a tribe applies its join rules. Nothing loops back through
the inbox. A follow that arrives from another server is handled by
``fedi.federation.incoming.follows``.

On one instance a local-to-local follow is a single ``Follow`` row shared by both sides.
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_social import (
    FollowAccepted,
    FollowerRemoved,
    FollowRejected,
    FollowRequested,
    FollowUndone,
)
from fedi.domain.ids import new_activity_id
from fedi.domain.tribe_members import join, leave
from fedi.domain.tribes import find_tribe_by_actor
from fedi.state import AppState
from models import Actor, Follow, utcnow

log = logging.getLogger(__name__)

PAGE_SIZE = 20


# ---------------------------------------------------------------- helpers


async def find_follow(db: AsyncSession, follower: Actor, followed: Actor) -> Follow | None:
    """The follow row of ``follower`` → ``followed`` (pending or accepted), or None."""
    return await db.scalar(_FOLLOW, {"follower": follower.id, "followed": followed.id})


# Built once (the inbox asks it for every Follow).
_FOLLOW = select(Follow).where(
    Follow.follower_id == bindparam("follower"), Follow.followed_id == bindparam("followed")
)


async def actor_by_ap_id(db: AsyncSession, ap_id: str | None) -> Actor | None:
    """The stored actor with this id (None for no id or an actor we do not know)."""
    if not ap_id:
        return None
    return await db.scalar(select(Actor).where(Actor.ap_id == ap_id))


def _require_local(actor: Actor, what: str = "actor") -> None:
    if not actor.local:
        raise Forbidden("Only people of this instance can do this.", field=what)


# ---------------------------------------------------------------- local actions


async def follow(db: AsyncSession, state: AppState, follower: Actor, target: Actor) -> Follow:
    """Ask to follow ``target`` on behalf of the local ``follower``.

    The row starts pending; it becomes accepted when a remote target's ``Accept`` arrives.
    A local target answers here and now: accepted unless the account is locked, and a local
    tribe applies its join rules (its refusal is raised). Asking again while a request is
    pending sends the ``Follow`` again (Mastodon does the same: the first one may have been
    lost); asking while already following changes nothing.
    """
    _require_local(follower, "follower")
    if follower.id == target.id:
        raise ServiceError("You cannot follow yourself.")
    if target.gone_at is not None:
        raise NotFound("This account no longer exists.")
    if target.type not in ("Person", "Group", "Organization", "Service"):
        raise ServiceError("This cannot be followed.")
    row = await find_follow(db, follower, target)
    if row is not None and row.accepted:
        return row
    settings = state.settings
    activity_id = new_activity_id(settings, "follow")
    if row is None:
        row = Follow(follower_id=follower.id, followed_id=target.id, activity_ap_id=activity_id)
        db.add(row)
    else:
        row.activity_ap_id = activity_id
    await db.flush()
    await emit(
        db, settings,
        FollowRequested(
            actor=follower, follower=follower, followed=target, follow_id=activity_id,
            activity_id=activity_id, follow=row,
        ),
    )
    if target.local:
        await _answer_locally(db, state, row, follower, target)
    return row


async def _answer_locally(
    db: AsyncSession, state: AppState, row: Follow, follower: Actor, target: Actor
) -> None:
    """A local target's answer to a local follow, applied at once (no inbox round trip)."""
    settings = state.settings
    if target.type == "Group":
        # A tribe: following is joining (FEP-1b12); its join rules decide, and the
        # membership keeps this Follow row in step.

        tribe = await find_tribe_by_actor(db, target)
        if tribe is not None:
            await join(db, settings, tribe, follower, activity_id=row.activity_ap_id)
            return
    if target.manually_approves_followers:
        return
    row.accepted = True
    row.accepted_at = utcnow()
    await db.flush()
    await emit(
        db, settings,
        FollowAccepted(
            actor=target, follower=follower, followed=target, follow_id=row.activity_ap_id,
            activity_id=new_activity_id(settings, "accept"),
        ),
    )


async def unfollow(db: AsyncSession, state: AppState, follower: Actor, target: Actor) -> str:
    """Stop following (or withdraw a request): delete the row and emit :class:`FollowUndone`.

    Unfollowing a local tribe is leaving it (the last admin stays a member). Returns the id
    of the ``Undo`` that tells the target.
    """
    _require_local(follower, "follower")
    row = await find_follow(db, follower, target)
    if row is None:
        raise NotFound("You are not following this account.")
    await db.delete(row)
    await db.flush()
    activity_id = new_activity_id(state.settings, "undo")
    await emit(
        db, state.settings,
        FollowUndone(
            actor=follower, follower=follower, followed=target, follow_id=row.activity_ap_id,
            activity_id=activity_id,
        ),
    )
    if target.local and target.type == "Group":

        tribe = await find_tribe_by_actor(db, target)
        if tribe is not None:
            try:
                await leave(db, state.settings, tribe, follower)
            except (NotFound, Conflict) as exc:
                log.info("unfollow of %s kept the membership: %s", tribe.slug, exc.message)
    return activity_id


async def _pending_or_404(db: AsyncSession, owner: Actor, follower: Actor) -> Follow:
    row = await find_follow(db, follower, owner)
    if row is None:
        raise NotFound("There is no follow request from this account.")
    return row


async def accept_follow_request(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> str:
    """The local ``owner`` accepts ``follower``'s pending request; returns the ``Accept`` id."""
    _require_local(owner, "owner")
    row = await _pending_or_404(db, owner, follower)
    if row.accepted:
        raise Conflict("This account already follows you.")
    row.accepted = True
    row.accepted_at = utcnow()
    await db.flush()
    activity_id = new_activity_id(state.settings, "accept")
    await emit(
        db, state.settings,
        FollowAccepted(
            actor=owner, follower=follower, followed=owner, follow_id=row.activity_ap_id,
            activity_id=activity_id,
        ),
    )
    return activity_id


async def reject_follow_request(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> str:
    """The local ``owner`` turns down a pending request: delete it; returns the ``Reject`` id."""
    _require_local(owner, "owner")
    row = await _pending_or_404(db, owner, follower)
    if row.accepted:
        raise Conflict("This account already follows you; remove the follower instead.")
    await db.delete(row)
    await db.flush()
    activity_id = new_activity_id(state.settings, "reject")
    await emit(
        db, state.settings,
        FollowRejected(
            actor=owner, follower=follower, followed=owner, follow_id=row.activity_ap_id,
            activity_id=activity_id,
        ),
    )
    return activity_id


async def remove_follower(
    db: AsyncSession, state: AppState, owner: Actor, follower: Actor
) -> str:
    """Remove an accepted follower (Mastodon tells them with ``Reject{Follow}`` too); returns
    the ``Reject`` id."""
    _require_local(owner, "owner")
    row = await find_follow(db, follower, owner)
    if row is None or not row.accepted:
        raise NotFound("This account does not follow you.")
    await db.delete(row)
    await db.flush()
    activity_id = new_activity_id(state.settings, "reject")
    await emit(
        db, state.settings,
        FollowerRemoved(
            actor=owner, follower=follower, followed=owner, follow_id=row.activity_ap_id,
            activity_id=activity_id,
        ),
    )
    return activity_id


# ---------------------------------------------------------------- reading


async def follow_state(db: AsyncSession, viewer: Actor | None, target: Actor) -> str:
    """How ``viewer`` relates to ``target``: ``self``, ``following``, ``pending`` or ``none``."""
    if viewer is None:
        return "none"
    if viewer.id == target.id:
        return "self"
    row = await find_follow(db, viewer, target)
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


async def drop_follows_of(db: AsyncSession, actor: Actor) -> None:
    """Delete every follow from and to ``actor`` (its account was deleted)."""
    await db.execute(
        delete(Follow).where((Follow.follower_id == actor.id) | (Follow.followed_id == actor.id))
    )
