"""Sending what happened to follows: ``Follow``, ``Accept``, ``Reject`` and ``Undo{Follow}``.

Subscribers of the follow events (``fedi.domain.events_social``). Each builds the activity
under the id the domain minted and publishes it from the local actor who acted; a change
made by a remote actor is never sent (it came from their server). Local recipients get an
inbox entry only: the follows service applied the change for them already.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_accept, build_follow, build_reject, build_undo
from fedi.domain.events import subscribes
from fedi.domain.events_social import (
    FollowAccepted,
    FollowerRemoved,
    FollowEvent,
    FollowRejected,
    FollowRequested,
    FollowUndone,
)
from fedi.federation.outgoing.publish import publish
from fedi.settings import Settings
from models import Actor, OutboxActivity

__all__ = ["follow_activity", "send_accept", "send_reject"]


def follow_activity(follow_id: str, follower: Actor, followed: Actor) -> dict[str, Any]:
    """The ``Follow`` a row stands for, as it was sent (id, actor, object), to embed.

    Mastodon matches an ``Accept`` to its request by the embedded Follow's id and Lemmy
    reads ``actor``/``object`` from it, so rebuilding these three fields is enough.
    """
    activity = build_follow(follow_id, follower.ap_id, followed.ap_id)
    activity.pop("@context", None)
    return activity


async def send_accept(
    db: AsyncSession, settings: Settings, activity_id: str, follow_id: str,
    follower: Actor, followed: Actor,
) -> OutboxActivity:
    """Publish ``followed``'s ``Accept`` of ``follower``'s Follow ``follow_id``."""
    original = follow_activity(follow_id, follower, followed)
    accept = build_accept(activity_id, followed.ap_id, original)
    accept["to"] = [follower.ap_id]
    # The follower is loaded already: its inbox is read from it, not looked up again.
    return await publish(db, settings, followed, accept, known=[follower])


async def send_reject(
    db: AsyncSession, settings: Settings, activity_id: str, follow_id: str,
    follower: Actor, followed: Actor,
) -> OutboxActivity:
    """Publish ``followed``'s ``Reject`` of ``follower``'s Follow ``follow_id``."""
    original = follow_activity(follow_id, follower, followed)
    reject = build_reject(activity_id, followed.ap_id, original)
    reject["to"] = [follower.ap_id]
    return await publish(db, settings, followed, reject, known=[follower])


def _ours(event: FollowEvent) -> bool:
    return bool(event.actor.local)


@subscribes(FollowRequested)
async def on_follow_requested(db: AsyncSession, settings: Settings, event: FollowRequested) -> None:
    """Send the ``Follow`` (Mastodon's carries no addressing; ``to`` is how publish routes)."""
    if not _ours(event):
        return
    activity = build_follow(event.activity_id, event.follower.ap_id, event.followed.ap_id)
    activity["to"] = [event.followed.ap_id]
    await publish(db, settings, event.follower, activity)


@subscribes(FollowAccepted)
async def on_follow_accepted(db: AsyncSession, settings: Settings, event: FollowAccepted) -> None:
    """Send the ``Accept`` to the follower."""
    if _ours(event):
        await send_accept(
            db, settings, event.activity_id, event.follow_id, event.follower, event.followed
        )


@subscribes(FollowRejected, FollowerRemoved)
async def on_follow_rejected(db: AsyncSession, settings: Settings, event: FollowEvent) -> None:
    """Send the ``Reject`` (a refused request, or a removed follower) to the follower."""
    if _ours(event):
        await send_reject(
            db, settings, event.activity_id, event.follow_id, event.follower, event.followed
        )


@subscribes(FollowUndone)
async def on_follow_undone(db: AsyncSession, settings: Settings, event: FollowUndone) -> None:
    """Send ``Undo{Follow}`` to the account no longer followed."""
    if not _ours(event):
        return
    original = follow_activity(event.follow_id, event.follower, event.followed)
    undo = build_undo(event.activity_id, event.follower.ap_id, original)
    undo["to"] = [event.followed.ap_id]
    await publish(db, settings, event.follower, undo)
