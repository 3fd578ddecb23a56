"""Prepare: fetch ahead, with no transaction open, what applying an activity will need.

For each inbox item this fetches the sender when we have no fresh copy, the object when it is
only referenced (or embedded from another host, which is never trusted as sent), the
object's author, and the ``inReplyTo`` chain up to the first post we store, with the authors
of those parents (apply stores the parents it walks through). Everything lands in the item's
:class:`~fedi.federation.remote.memo.FetchMemo`, failures included (a 404 is an answer too).
What this does not foresee, apply asks for with ``NeedsFetch``. The parents of a burst of
replies are fetched once for all of them (``recent.RecentDocuments``).

The database is only read here, once for a whole step of items, and never while a request
is in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from activitypub.fetcher import FetchError
from activitypub.vocab import as_list, host_of, id_of
from fedi.federation.remote.actors import REFRESH_AFTER, webfinger_lookup
from fedi.federation.remote.memo import FetchMemo, NeedsFetch
from fedi.federation.remote.recent import RecentDocuments
from fedi.federation.remote.threads import walk_in_reply_to
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from models import Actor, ApObject, utcnow

__all__ = [
    "Known",
    "Preparation",
    "fetch_ahead",
    "fetch_needed",
    "needs_network",
    "prepare_activities",
    "read_known",
]

# Activities whose object (when only referenced) the handler reads.
OBJECT_READERS = frozenset({"Create", "Update", "Announce", "Like", "Dislike", "EmojiReact"})
# How many remote GETs one step of items runs at once.
FETCH_CONCURRENCY = 16


@dataclass
class Preparation:
    """One activity to prepare: its key, the JSON, the sender's id, its type and its memo."""

    key: int
    activity: dict[str, Any]
    sender_id: str
    activity_type: str = ""
    memo: FetchMemo = field(default_factory=FetchMemo)


def _first_id(value: Any) -> str | None:
    for entry in as_list(value):
        ident = id_of(entry)
        if ident:
            return ident
    return None


def _type_of(activity: dict[str, Any]) -> str:
    return next((t for t in as_list(activity.get("type")) if isinstance(t, str)), "")


def _remote(state: AppState, ident: str | None) -> bool:
    if not ident or not ident.startswith(("https://", "http://")):
        return False
    return not state.settings.is_local_id(ident)


class Known:
    """What the database already holds: fresh actors and stored objects, by id.

    ``checked_actors``/``checked_objects`` are the ids looked up (found or not), so the
    dry run and the fetch of a step do not ask the database about them again.
    """

    def __init__(
        self,
        actors: set[str],
        objects: set[str],
        checked_actors: set[str] | None = None,
        checked_objects: set[str] | None = None,
    ) -> None:
        """Hold the ids read from the database (and which ids were looked up)."""
        self.actors = actors
        self.objects = objects
        self.checked_actors = set(actors) if checked_actors is None else checked_actors
        self.checked_objects = set(objects) if checked_objects is None else checked_objects

    async def has_actor(self, state: AppState, ident: str) -> bool:
        """Whether we hold a fresh copy of the actor ``ident`` (read once if not looked up)."""
        if ident not in self.checked_actors:
            found = await _read_known(state, {ident}, set())
            self.checked_actors.add(ident)
            self.actors |= found.actors
        return ident in self.actors

    async def has_object(self, state: AppState, ident: str) -> bool:
        """Whether we store the object ``ident`` (read once if not looked up)."""
        if ident not in self.checked_objects:
            found = await _read_known(state, set(), {ident})
            self.checked_objects.add(ident)
            self.objects |= found.objects
        return ident in self.objects


class _WouldFetch(Exception):
    """Raised by the dry run of :func:`needs_network` at its first fetch."""


async def _read_known(state: AppState, actor_ids: set[str], object_ids: set[str]) -> Known:
    fresh_after = utcnow() - REFRESH_AFTER
    actors: set[str] = set()
    objects: set[str] = set()
    async with state.db.sessions() as db:
        if actor_ids:
            rows = await db.execute(
                select(Actor.ap_id, Actor.local, Actor.fetched_at).where(
                    Actor.ap_id.in_(sorted(actor_ids))
                )
            )
            actors = {
                ap_id for ap_id, local, fetched in rows
                if local or (fetched is not None and fetched > fresh_after)
            }
        if object_ids:
            query = select(ApObject.ap_id).where(ApObject.ap_id.in_(sorted(object_ids)))
            objects = set(await db.scalars(query))
    return Known(actors, objects, set(actor_ids), set(object_ids))


def _wanted(state: AppState, prep: Preparation) -> tuple[set[str], set[str]]:
    """(actor ids, object ids) this activity may need, to look up in the database."""
    activity = prep.activity
    actors = {prep.sender_id}
    objects: set[str] = set()
    if _type_of(activity) in OBJECT_READERS:
        raw = activity.get("object")
        object_id = id_of(raw)
        if _remote(state, object_id):
            objects.add(str(object_id))
        if isinstance(raw, dict):
            author = _first_id(raw.get("attributedTo"))
            if author:
                actors.add(author)
            parent = id_of(raw.get("inReplyTo"))
            if _remote(state, parent):
                objects.add(str(parent))
    return actors, objects


async def read_known(state: AppState, preps: Sequence[Preparation]) -> Known:
    """One read of the database for all ``preps``: which of their ids we hold already."""
    actor_ids: set[str] = set()
    object_ids: set[str] = set()
    for prep in preps:
        actors, objects = _wanted(state, prep)
        actor_ids |= actors
        object_ids |= objects
    return await _read_known(state, actor_ids, object_ids)


async def prepare_activities(state: AppState, preps: Sequence[Preparation]) -> None:
    """Fill the memo of each of ``preps`` with the remote documents it will need."""
    if not preps:
        return
    known = await read_known(state, preps)
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)
    await asyncio.gather(*(fetch_ahead(state, prep, known, limit) for prep in preps))


async def needs_network(state: AppState, prep: Preparation, known: Known) -> bool:
    """Whether preparing ``prep`` would fetch anything (a dry run, no request is made)."""

    async def would_fetch(url: str, shared: bool = False) -> dict[str, Any] | None:
        raise _WouldFetch(url)

    try:
        await _walk(state, prep, known, would_fetch)
    except _WouldFetch:
        return True
    return False


async def fetch_ahead(
    state: AppState,
    prep: Preparation,
    known: Known,
    limit: asyncio.Semaphore | None = None,
    recent: RecentDocuments | None = None,
) -> None:
    """Fetch what ``prep`` will need into its memo (``limit`` bounds concurrent GETs).

    With ``recent``, the documents of the thread walk (parents and their authors) are
    shared with the other items being prepared (one GET for a burst of replies).
    """
    fetcher = get_federation(state).fetcher
    memo = prep.memo

    async def get(url: str) -> dict[str, Any] | FetchError:
        if limit is None:
            return await fetcher.fetch_into(memo, url)
        async with limit:
            return await fetcher.fetch_into(memo, url)

    async def fetch(url: str, shared: bool = False) -> dict[str, Any] | None:
        if url in memo.documents:
            found = memo.documents[url]
            return found if isinstance(found, dict) else None
        if shared and recent is not None:
            result = await recent.fetch(url, lambda: get(url))
            if url not in memo.documents:
                memo.remember(url, result)  # another item fetched it
        else:
            result = await get(url)
        return result if isinstance(result, dict) else None

    await _walk(state, prep, known, fetch)


async def _walk(
    state: AppState,
    prep: Preparation,
    known: Known,
    fetch: Callable[[str, bool], Awaitable[dict[str, Any] | None]],
) -> None:
    """Visit what ``prep`` will need, calling ``fetch`` for each document we lack."""

    async def want_actor(ident: str | None, shared: bool = False) -> None:
        if _remote(state, ident) and not await known.has_actor(state, str(ident)):
            await fetch(str(ident), shared)

    await want_actor(prep.sender_id)
    activity = prep.activity
    if _type_of(activity) not in OBJECT_READERS:
        return
    raw = activity.get("object")
    object_id = id_of(raw)
    doc: dict[str, Any] | None = raw if isinstance(raw, dict) else None
    if _remote(state, object_id) and object_id not in known.objects:
        sender_host = host_of(prep.sender_id)
        if doc is None or host_of(str(object_id)) != sender_host:
            doc = await fetch(str(object_id), False)
    if doc is None:
        return
    await want_actor(_first_id(doc.get("attributedTo")))

    async def stored(ident: str) -> bool | None:
        return True if await known.has_object(state, ident) else None

    async def parent_of(ident: str) -> str | None:
        parent = await fetch(ident, True)
        if parent is None:
            return None
        # Apply stores a parent it walks through (tribes.thread_of), with its author: fetch
        # the author now too, or apply would have to stop, fetch it and run again.
        await want_actor(_first_id(parent.get("attributedTo")), True)
        return id_of(parent.get("inReplyTo"))

    await walk_in_reply_to(
        id_of(doc.get("inReplyTo")), stored, parent_of, is_local=state.settings.is_local_id
    )


async def fetch_needed(state: AppState, memo: FetchMemo, need: NeedsFetch) -> None:
    """Fetch what apply asked for (and anything else it missed) into ``memo``."""
    wanted = [(need.kind, need.key), *memo.missing]
    memo.missing.clear()
    fetcher = get_federation(state).fetcher
    for kind, key in dict.fromkeys(wanted):
        if kind == "webfinger":
            if key in memo.handles:
                continue
            try:
                actor_id = await webfinger_lookup(state, key)
            except Exception as exc:  # ActorUnavailable: replayed as such during apply
                memo.handles[key] = exc
                continue
            memo.handles[key] = actor_id
            # resolve_handle fetches the actor right after: do it now, in the same round.
            if actor_id not in memo.documents:
                await fetcher.fetch_into(memo, actor_id)
        elif key not in memo.documents:
            await fetcher.fetch_into(memo, key)
