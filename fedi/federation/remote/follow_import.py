"""Importing a follow list: a Mastodon ``following_accounts.csv`` followed row by row.

Each handle is resolved through WebFinger (and its actor fetched) in a short session of its
own, like mentions are (``fedi.federation.remote.mentions``): the network is never used
inside the write transaction. Each follow then goes through the same service as the follow
button (:func:`fedi.domain.follows.follow`), in its own short transaction, so one refusal
does not undo the others.

The import runs in the request, not as a queued job: a list is capped at
:data:`MAX_ROWS` handles, at most :data:`CONCURRENCY` are looked up at a time, each lookup
gives up after :data:`LOOKUP_TIMEOUT` seconds and the whole import after
:data:`IMPORT_DEADLINE` seconds, and the person sees the outcome of every row on the page
at once (a job would need a place to report them later). Rows not reached in time are
reported as ``timed_out``; importing the same file again follows them and leaves the rows
already followed as they are.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass

from sqlalchemy import select

from fedi.domain import follows
from fedi.domain.errors import ServiceError
from fedi.federation.remote.actors import ActorUnavailable, resolve_handle
from fedi.state import AppState
from models import Actor

__all__ = [
    "CONCURRENCY",
    "IMPORT_DEADLINE",
    "LOOKUP_TIMEOUT",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportResult",
    "import_follows",
    "parse_follow_list",
]

log = logging.getLogger(__name__)

MAX_ROWS = 1000
MAX_BYTES = 256 * 1024
CONCURRENCY = 4
LOOKUP_TIMEOUT = 20.0
IMPORT_DEADLINE = 120.0

# Outcomes, in the words of the results table.
FOLLOWED = "followed"
REQUESTED = "requested"
ALREADY = "already"
NOT_FOUND = "not_found"
REFUSED = "refused"
DUPLICATE = "duplicate"
OVER_LIMIT = "over_limit"
TIMED_OUT = "timed_out"


@dataclass
class ImportResult:
    """What happened to one row of the list."""

    handle: str
    outcome: str
    # For ``refused``: the service's message (English, translated where shown) and values.
    error: ServiceError | None = None


def parse_follow_list(data: bytes) -> tuple[list[str], list[ImportResult]]:
    """The handles of a follow list (first column, header optional) and the rows set aside.

    Set aside: repeated handles (``duplicate``) and anything past :data:`MAX_ROWS`
    (``over_limit``). A leading ``@`` and ``acct:`` are dropped; blank rows are skipped.
    """
    text = data.decode("utf-8-sig", errors="replace")
    handles: list[str] = []
    skipped: list[ImportResult] = []
    seen: set[str] = set()
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        handle = row[0].strip().removeprefix("acct:").lstrip("@")
        if handle.lower() == "account address":  # Mastodon's header row
            continue
        key = handle.lower()
        if key in seen:
            skipped.append(ImportResult(handle, DUPLICATE))
            continue
        seen.add(key)
        if len(handles) >= MAX_ROWS:
            skipped.append(ImportResult(handle, OVER_LIMIT))
            continue
        handles.append(handle)
    return handles, skipped


async def _resolve(
    state: AppState, handle: str, gate: asyncio.Semaphore, deadline: float
) -> str | None:
    """The actor id of ``handle`` (fetched and stored in a session of its own), None when
    nobody is found, or :data:`TIMED_OUT` when the import's time ran out first."""
    if "@" not in handle:
        handle = f"{handle}@{state.settings.host}"
    loop = asyncio.get_running_loop()
    async with gate:
        left = deadline - loop.time()
        if left <= 0:
            return TIMED_OUT
        try:
            async with asyncio.timeout(min(LOOKUP_TIMEOUT, left)):
                async with state.db.session() as db:
                    return (await resolve_handle(state, db, handle)).ap_id
        except TimeoutError:
            log.info("follow import: %s not resolved in time", handle)
            return TIMED_OUT if loop.time() >= deadline else None
        except ActorUnavailable as exc:
            log.info("follow import: %s not resolved: %s", handle, exc)
            return None


async def _follow_one(state: AppState, actor_id: int, handle: str, target_id: str) -> ImportResult:
    """Follow the stored actor ``target_id`` through the follow service (no network here)."""
    try:
        async with state.db.session() as db:
            me = await db.get(Actor, actor_id)
            target = await db.scalar(select(Actor).where(Actor.ap_id == target_id))
            if me is None or target is None:
                return ImportResult(handle, NOT_FOUND)
            if await follows.find_follow(db, me, target) is not None:
                return ImportResult(handle, ALREADY)
            row = await follows.follow(db, state, me, target)
            return ImportResult(handle, FOLLOWED if row.accepted else REQUESTED)
    except ServiceError as exc:
        return ImportResult(handle, REFUSED, exc)


async def import_follows(
    state: AppState, actor_id: int, handles: list[str], *, deadline: float = IMPORT_DEADLINE
) -> list[ImportResult]:
    """Follow every handle of ``handles`` as the local actor ``actor_id``; one result each.

    Lookups run :data:`CONCURRENCY` at a time for at most ``deadline`` seconds in all; the
    follows are then made one by one, in list order.
    """
    gate = asyncio.Semaphore(CONCURRENCY)
    ends = asyncio.get_running_loop().time() + deadline
    resolved = await asyncio.gather(
        *(_resolve(state, handle, gate, ends) for handle in handles)
    )
    results: list[ImportResult] = []
    for handle, target_id in zip(handles, resolved, strict=True):
        if target_id is None:
            results.append(ImportResult(handle, NOT_FOUND))
        elif target_id == TIMED_OUT:
            results.append(ImportResult(handle, TIMED_OUT))
        else:
            results.append(await _follow_one(state, actor_id, handle, target_id))
    return results
