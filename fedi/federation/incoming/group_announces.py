"""``Announce{Activity}`` from a group we follow: another instance's tribe, a Lemmy community.

A group forwards its members' activities wrapped in ``Announce`` (FEP-1b12). The wrapped
activity is never trusted as sent: what it created or edited is fetched from its origin,
and a deletion counts only when the origin answers 404/410. An announced initiative is kept
as an initiative (``incoming.initiatives``), anything else as a post.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import host_of
from fedi.domain.errors import NotFound
from fedi.federation.incoming import posts
from fedi.federation.incoming.initiatives import receive_announced_create
from fedi.federation.outgoing.tribe_distribution import concerned_object
from fedi.federation.remote.actors import ActorUnavailable
from fedi.federation.runtime import get_federation
from fedi.settings import Settings
from fedi.state import AppState
from models import Actor, ApObject

__all__ = ["is_remote_group", "receive_group_announce"]


def is_remote_group(actor: Actor, settings: Settings) -> bool:
    """Whether ``actor`` is a group on another server (its announces carry member posts)."""
    return actor.type == "Group" and host_of(actor.ap_id) != settings.host


async def receive_group_announce(
    db: AsyncSession, state: AppState, group: Actor, activity: dict[str, Any]
) -> Any:
    """``Announce{Activity}`` from a group we follow (another instance's tribe, a Lemmy
    community): take the wrapped post, edit or deletion in, confirmed at its origin.

    The wrapped activity is never trusted as sent (the group could forge it): a created or
    edited object is fetched from its own server, and a deletion counts only when that
    server answers 404/410. Returns what was stored, or None when nothing was for us.
    """
    from activitypub.fetcher import FetchError

    if group.type != "Group":
        return None
    inner = activity.get("object")
    if not isinstance(inner, dict):
        return None
    kind = inner.get("type")
    object_id = concerned_object(inner)
    if not object_id or host_of(object_id) == state.settings.host:
        return None
    if kind == "Create":
        # An initiative the group announced is kept as an initiative, not as a note.

        initiative = await receive_announced_create(db, state, group, inner)
        if initiative is not None:
            return initiative
        try:
            return await posts.get_or_fetch_object(db, state, object_id)
        except NotFound:
            return None
    if kind not in ("Update", "Delete"):
        return None
    existing = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if existing is None or existing.attributed_to_id is None:
        return None
    author = await db.get(Actor, existing.attributed_to_id)
    if author is None:
        return None
    try:
        doc = await get_federation(state).fetcher.fetch_json(object_id)
    except FetchError as exc:
        if kind == "Delete" and getattr(exc, "gone", False):
            await posts.apply_delete(db, existing)
            return existing
        return None
    except ActorUnavailable:
        return None
    if kind == "Update":
        try:
            await posts.apply_edit(db, state.settings, author, existing, doc)
        except posts.NotStorable:
            return None
        return existing
    return None
