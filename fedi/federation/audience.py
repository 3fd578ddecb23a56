"""Who a restricted initiative reaches, and which signed fetches of it we answer.

A ``members`` initiative is for the tribe's active members and the initiative's partners, a
``private`` one for its partners only (``initiative_access.can_view``). This module answers
the federation side of that rule:

* ``audience`` -- the actors a restricted initiative's activities go to when its tribe
  distributes them (the tribe's server knows its members; the partners are known
  everywhere a copy is kept).
* ``confirm_remote_member`` -- the server hosting an initiative of a tribe on *another*
  server does not know that tribe's members. It asks the tribe's server: its ``members``
  collection (``{group}/members``, paged, public) is fetched, kept in memory for
  ``MEMBERS_TTL`` seconds, and a remote person listed there gets (or loses) a membership
  row in our record of the remote tribe, so every service sees the same answer.
* ``may_fetch`` -- whether a GET signed by ``signer`` (HTTP Signatures, "authorized fetch")
  may read a restricted initiative and its parts. A person may when they may see it. A
  server's instance actor (an ``Application``, which is what servers sign their own
  fetches with) may when somebody on that server may see it: that server received the
  activities already (one delivery per shared inbox) and keeps the copy restricted, so
  letting it confirm an object at its origin tells it nothing new.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.fetcher import FetchError
from activitypub.vocab import host_of, id_of
from fedi.domain.initiative_access import active_partners, can_view
from fedi.domain.tribe_access import is_blocked, membership
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from models import Actor, Initiative, Tribe, TribeMember, utcnow

log = logging.getLogger(__name__)

__all__ = [
    "MEMBERS_TTL",
    "audience",
    "confirm_remote_member",
    "may_fetch",
    "remote_member_ids",
]

# How long a fetched members collection is trusted before it is fetched again.
MEMBERS_TTL = 60.0
# At most this many pages (20 members each) are read from a remote members collection.
MAX_MEMBER_PAGES = 50
# The actor types servers sign their own fetches with (Mastodon's and our instance actor).
SERVER_ACTOR_TYPES = ("Application",)


async def local_tribe_members(db: AsyncSession, tribe: Tribe) -> list[Actor]:
    """The active members of a tribe we host (local and remote people)."""
    rows = await db.scalars(
        select(TribeMember).where(
            TribeMember.tribe_id == tribe.id, TribeMember.state == "active"
        ).order_by(TribeMember.id)
    )
    return [row.actor for row in rows.unique().all()]


async def audience(
    db: AsyncSession, initiative: Initiative, *, visibility: str | None = None
) -> list[Actor]:
    """Everyone a restricted initiative of one of our tribes is distributed to.

    ``members``: the tribe's active members and the partners; ``private``: the partners.
    (A public initiative goes to the tribe's followers and Public instead.) ``visibility``
    overrides the initiative's own (the earlier, wider one after an edit narrowed it).
    """
    found: dict[int, Actor] = {}
    if (visibility or initiative.visibility) == "members":
        for actor in await local_tribe_members(db, initiative.tribe):
            found[actor.id] = actor
    for actor in await active_partners(db, initiative):
        found.setdefault(actor.id, actor)
    return list(found.values())


async def _fetch_members(state: AppState, group_id: str) -> frozenset[str] | None:

    fetcher = get_federation(state).fetcher
    try:
        collection = await fetcher.fetch_json(f"{group_id}/members")
        ids: set[str] = set()
        page: Any = collection.get("first")
        items = list(collection.get("orderedItems") or collection.get("items") or [])
        for _number in range(MAX_MEMBER_PAGES):
            ids.update(i for i in (id_of(item) for item in items) if i)
            if page is None:
                break
            doc = page if isinstance(page, dict) else await fetcher.fetch_json(str(page))
            items = list(doc.get("orderedItems") or doc.get("items") or [])
            page = doc.get("next") if doc.get("next") != id_of(doc) else None
    except FetchError as exc:
        log.info("members of %s not fetched: %s", group_id, exc)
        return None
    return frozenset(ids)


async def remote_member_ids(state: AppState, tribe: Tribe) -> frozenset[str] | None:
    """The member ids a remote tribe's server lists (cached; None when unreachable)."""
    cache = state.remote_members
    group_id = tribe.actor.ap_id
    hit = cache.get(group_id)
    now = time.monotonic()
    if hit is not None and now - hit[0] < MEMBERS_TTL:
        return hit[1]
    ids = await _fetch_members(state, group_id)
    if ids is None:
        return hit[1] if hit is not None else None
    cache[group_id] = (now, ids)
    return ids


async def confirm_remote_member(
    db: AsyncSession, state: AppState, initiative: Initiative, actor: Actor | None
) -> None:
    """Bring our record of ``actor``'s membership of a remote tribe up to date (see the
    module notes); only for members-only initiatives, remote tribes and remote people."""
    tribe = initiative.tribe
    if (
        actor is None or actor.id is None or actor.id < 0 or actor.local
        or tribe.actor.local or initiative.visibility != "members"
    ):
        return
    ids = await remote_member_ids(state, tribe)
    if ids is None:
        return
    row = await membership(db, tribe, actor)
    listed = actor.ap_id in ids
    if listed and row is None:
        row = TribeMember(
            tribe_id=tribe.id, actor_id=actor.id, role="member", state="active",
            joined_at=utcnow(), activity_ap_id=f"{tribe.actor.ap_id}/members",
        )
        row.actor = actor
        db.add(row)
        await db.flush()
    elif not listed and row is not None:
        await db.delete(row)
        await db.flush()


async def _server_may_fetch(
    db: AsyncSession, state: AppState, initiative: Initiative, host: str
) -> bool:
    """Whether somebody on ``host`` may see ``initiative`` (see the module notes)."""
    tribe = initiative.tribe
    if any(host_of(p.ap_id) == host for p in await active_partners(db, initiative)):
        return True
    if initiative.visibility != "members":
        return False
    if host_of(tribe.actor.ap_id) == host:
        return True  # the tribe's own server decides who its members are
    if tribe.actor.local:
        return any(host_of(m.ap_id) == host for m in await local_tribe_members(db, tribe))
    ids = await remote_member_ids(state, tribe)
    return ids is not None and any(host_of(i) == host for i in ids)


async def may_fetch(
    db: AsyncSession, state: AppState, initiative: Initiative, signer: Actor | None
) -> bool:
    """Whether a GET signed by ``signer`` (None: unsigned) may read ``initiative``."""
    if initiative.deleted_at is not None:
        return False
    if initiative.visibility == "public":
        return True
    if signer is None:
        return False
    if signer.id is not None and signer.id > 0:
        if await is_blocked(db, initiative.tribe, signer):
            return False
        await confirm_remote_member(db, state, initiative, signer)
        if await can_view(db, initiative, signer):
            return True
    if signer.ap_id == initiative.tribe.actor.ap_id:
        return initiative.visibility == "members"
    if signer.type in SERVER_ACTOR_TYPES:
        host = host_of(signer.ap_id)
        return bool(host) and await _server_may_fetch(db, state, initiative, host)
    return False
