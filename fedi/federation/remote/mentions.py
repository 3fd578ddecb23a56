"""Resolving the people a text mentions, before anything is written.

``@name@host`` handles are looked up through WebFinger (and their actors fetched and
stored) here, in the federation layer, each in a short session of its own, so that the
notes service later finds every mentioned person in the actors table and never touches
the network inside its transaction::

    resolved = await resolve_mentions(state, text)          # network, own sessions
    async with state.db.session() as db:                    # then the one write
        mentions = await mentioned_actors(db, resolved)
        await notes.create_note(db, state, me, text, mentions=mentions)

Handles that cannot be resolved are left out (they stay plain text).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.mentions import find_mentions
from fedi.federation.remote.actors import ActorUnavailable, resolve_handle
from fedi.state import AppState
from models import Actor

__all__ = ["MAX_MENTIONS", "mentioned_actors", "resolve_mentions"]

log = logging.getLogger(__name__)

# The notes service links at most this many mentions of one text.
MAX_MENTIONS = 20


async def resolve_mentions(state: AppState, text: str) -> dict[str, str]:
    """The actor ids of the people ``text`` mentions, keyed by lower-case ``name@host``.

    Each handle is resolved in its own session, committed before the next one: a slow
    server holds up this request only, never the database.
    """
    found: dict[str, str] = {}
    for ref in find_mentions(text or "", state.settings.host)[:MAX_MENTIONS]:
        try:
            async with state.db.session() as db:
                actor = await resolve_handle(state, db, ref.handle)
                found[ref.handle.lower()] = actor.ap_id
        except ActorUnavailable as exc:
            log.info("mention %s not resolved: %s", ref.handle, exc)
    return found


async def mentioned_actors(db: AsyncSession, resolved: dict[str, str]) -> dict[str, Actor]:
    """The actors of :func:`resolve_mentions`' answer, loaded in ``db`` (the write session)."""
    if not resolved:
        return {}
    rows = await db.scalars(select(Actor).where(Actor.ap_id.in_(sorted(set(resolved.values())))))
    by_id = {actor.ap_id: actor for actor in rows.all()}
    return {handle: by_id[ap_id] for handle, ap_id in resolved.items() if ap_id in by_id}
