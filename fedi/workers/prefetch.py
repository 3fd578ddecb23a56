"""Set-wise lookups for the inbox items that one worker transaction handles.

Handling a ``Create{Note}`` asks three questions one row at a time: who is the sender, is
the note stored already, which local people follow the sender. For a step of items the
worker asks each once for all of them and leaves the answers in the session's ``info``,
where ``get_or_fetch_actor``, ``lookup_object`` and ``local_recipients`` look first
(BENCHMARKS.md, finding 9). The answers live only as long as the transaction, and the
follower lists are dropped as soon as an activity that could change a follow is handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub.vocab import id_of
from fedi.federation.remote.actors import ACTOR_MEMO
from fedi.settings import Settings
from models import Actor, ApObject, Follow, InboxItem

__all__ = ["FOLLOWERS_MEMO", "PREFETCHED_OBJECTS", "prefetch_step"]

# ``info`` keys: local follower ids by followed actor id, and stored objects (or None) by id.
FOLLOWERS_MEMO = "followers_memo"
PREFETCHED_OBJECTS = "prefetched_objects"


def created_object_id(item: InboxItem) -> str | None:
    """The id of the object a ``Create`` item carries (None for other activities)."""
    if item.type != "Create" or not isinstance(item.payload, dict):
        return None
    return id_of(item.payload.get("object"))


async def prefetch_step(db: AsyncSession, settings: Settings, items: Sequence[InboxItem]) -> None:
    """Load the senders, created objects and senders' local followers of ``items`` at once."""
    pending = [item for item in items if item.state == "pending"]
    senders = sorted({i.actor_ap_id for i in pending if not settings.is_local_id(i.actor_ap_id)})
    actors: dict[str, Any] = db.info.setdefault(ACTOR_MEMO, {})
    wanted = [ap_id for ap_id in senders if ap_id not in actors]
    if wanted:
        found = await db.scalars(
            select(Actor).where(Actor.ap_id.in_(wanted)).options(lazyload(Actor.talents))
        )
        actors.update({actor.ap_id: actor for actor in found})
    object_ids = sorted({oid for item in pending if (oid := created_object_id(item))})
    objects: dict[str, ApObject | None] = db.info.setdefault(PREFETCHED_OBJECTS, {})
    missing = [oid for oid in object_ids if oid not in objects]
    if missing:
        stored = {o.ap_id: o for o in await db.scalars(
            select(ApObject).where(ApObject.ap_id.in_(missing))
        )}
        objects.update({oid: stored.get(oid) for oid in missing})
    followers: dict[int, list[int]] | None = db.info.get(FOLLOWERS_MEMO)
    if followers is None:
        followers = db.info[FOLLOWERS_MEMO] = {}
    sender_ids = [actors[a].id for a in senders if a in actors and actors[a].id not in followers]
    if sender_ids:
        for followed in sender_ids:
            followers[followed] = []
        rows = await db.execute(
            select(Follow.followed_id, Follow.follower_id)
            .join(Actor, Actor.id == Follow.follower_id)
            .where(
                Follow.followed_id.in_(sender_ids),
                Follow.accepted.is_(True),
                Actor.local.is_(True),
            )
        )
        for followed, follower in rows:
            followers[followed].append(follower)
