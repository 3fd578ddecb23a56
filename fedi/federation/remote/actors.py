"""Remote actors: fetching them from their origin and keeping a copy in the actors table.

Everything else (following, addressing, signature keys) works on ``Actor`` rows, so a remote
person is fetched once, upserted, and refreshed when older than a day or when asked.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from activitypub import webfinger
from activitypub.fetcher import FetchError, NotAnActor
from activitypub.vocab import host_of
from fedi.federation.remote.actor_rows import (
    ActorUnavailable,
    actor_values,
    upsert_actor_document,
)
from fedi.federation.remote.memo import NeedsFetch, current_memo
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from models import Actor, utcnow

__all__ = [
    "ActorUnavailable",
    "actor_values",
    "get_or_fetch_actor",
    "resolve_handle",
    "upsert_actor_document",
    "webfinger_lookup",
]

# How long a fetched actor document is trusted before it is fetched again on use.
REFRESH_AFTER = timedelta(days=1)


# Key in ``AsyncSession.info`` of actors the inbox worker loaded for a whole step of items
# (``fedi.workers.prefetch``); looked at before querying.
ACTOR_MEMO = "actor_memo"
_ACTOR_BY_ID = select(Actor).where(Actor.ap_id == bindparam("ap_id"))
_REMOTE_ACTOR_BY_ID = _ACTOR_BY_ID.options(lazyload(Actor.talents))


async def get_or_fetch_actor(
    state: AppState, db: AsyncSession, ap_id: str, *, refresh: bool = False
) -> Actor:
    """The actor with id ``ap_id``: local ones from the table, remote ones fetched if needed.

    A stored remote actor is returned as is unless ``refresh`` is set or its copy is older
    than a day (a failed background refresh then keeps the old copy). Raises
    :class:`ActorUnavailable` when a needed fetch fails.
    """
    # The inbox asks for the sender of every activity and never needs a remote actor's
    # talents; skipping their eager load halves the cost (ensure_talents_loaded exists for
    # code that does need them). Both statements are built once (see BENCHMARKS.md).
    memo: dict[str, Actor] | None = db.info.get(ACTOR_MEMO)
    actor = memo.get(ap_id) if memo is not None else None
    if actor is None:
        query = _ACTOR_BY_ID if state.settings.is_local_id(ap_id) else _REMOTE_ACTOR_BY_ID
        actor = await db.scalar(query, {"ap_id": ap_id})
    if actor is not None and actor.local:
        return actor
    stale = actor is None or actor.fetched_at is None or (
        utcnow() - actor.fetched_at > REFRESH_AFTER
    )
    if actor is not None and not refresh and not stale:
        return actor
    if host_of(ap_id) == state.settings.host:
        raise ActorUnavailable(f"no local actor {ap_id}", permanent=True)
    federation = get_federation(state)
    try:
        doc = await federation.fetcher.fetch_actor(ap_id)
    except FetchError as exc:
        if actor is not None and not refresh and not exc.gone:
            return actor
        if actor is not None and exc.gone:
            actor.gone_at = utcnow()
        raise ActorUnavailable(
            f"cannot fetch actor {ap_id}: {exc}",
            gone=exc.gone,
            permanent=exc.refused or isinstance(exc, NotAnActor),
        ) from exc
    updated = await upsert_actor_document(db, state.settings, doc)
    if updated.key_id:
        federation.key_cache.forget(updated.key_id)
    return updated


async def resolve_handle(state: AppState, db: AsyncSession, handle: str) -> Actor:
    """Find ``name@host`` (or ``@name@host``, ``acct:``) through WebFinger and fetch the actor.

    Local handles are answered from the table. Plain http WebFinger is allowed only with
    ``allow_private_network`` (loopback test instances). Raises :class:`ActorUnavailable`.
    """
    try:
        parsed = webfinger.parse_resource(handle)
    except webfinger.WebFingerError as exc:
        raise ActorUnavailable(str(exc)) from exc
    settings = state.settings
    if isinstance(parsed, str):
        return await get_or_fetch_actor(state, db, parsed)
    name, host = parsed
    if host == settings.host:
        local = await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == name.lower())
        )
        if local is None:
            raise ActorUnavailable(f"no local actor {name}")
        return local
    known = await db.scalar(
        select(Actor).where(Actor.username == name, Actor.domain == host, Actor.local.is_(False))
    )
    if known is not None and known.fetched_at and utcnow() - known.fetched_at < REFRESH_AFTER:
        return known
    memo = current_memo()
    if memo is not None:
        # Applying an inbox item: no network here, the worker looks it up (webfinger_into).
        try:
            actor_id = memo.handle(handle)
        except NeedsFetch:
            raise
        except Exception as exc:
            raise ActorUnavailable(f"cannot resolve {handle}: {exc}") from exc
    else:
        actor_id = await webfinger_lookup(state, handle)
    return await get_or_fetch_actor(state, db, actor_id, refresh=True)


async def webfinger_lookup(state: AppState, handle: str) -> str:
    """The actor id WebFinger gives for the remote ``handle``; raises :class:`ActorUnavailable`."""
    if state.http is None:
        raise ActorUnavailable("no HTTP client (the app is not serving)")
    settings = state.settings
    policy = get_federation(state).policy
    try:
        parsed = webfinger.parse_resource(handle)
        host = parsed[1] if isinstance(parsed, tuple) else host_of(parsed)
        scheme = "http" if settings.allow_private_network else "https"
        await policy.check(f"{scheme}://{host}/.well-known/webfinger")
        actor_id = await webfinger.lookup(
            handle, state.http, allow_http=settings.allow_private_network
        )
        await policy.check(actor_id)
    except Exception as exc:  # WebFingerError, UrlRefused
        raise ActorUnavailable(f"cannot resolve {handle}: {exc}") from exc
    return actor_id
