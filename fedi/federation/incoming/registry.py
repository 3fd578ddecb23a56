"""The one table of inbound activity handlers, and the context each handler receives.

A handler module looks like::

    from fedi.federation.incoming.registry import InboundContext, handles

    @handles("Follow")
    async def on_follow(ctx: InboundContext) -> None:
        await follows.receive_follow(ctx.db, ctx.state, ctx.actor, ctx.activity)

Each item goes through two phases (``fedi.workers.inbox``):

- *prepare*, with no transaction open: the worker fetches the sender, the object and the
  ``inReplyTo`` chain (``fedi.federation.remote.prepare``), then runs the handler's own
  ``prepare`` step if it declared one (``@handles("Invite", prepare=fetch_target)``), which
  fetches more into the item's memo through :meth:`PrepareContext.fetch`;
- *apply*: the worker opens a session, loads the sending actor, builds an
  :class:`InboundContext` and awaits ``HANDLERS[type](ctx)``. No network here: every fetch
  (``get_or_fetch_actor``, ``fetch_object``, the fetcher, WebFinger) answers from the memo,
  and a miss rolls back, is fetched outside and apply runs again. The session commits when
  the handler returns; an exception rolls everything back.

A handler that decides an activity is not for us raises :class:`Ignore` (the item is then
marked ``ignored``, not retried). A payload it cannot read (``TypeError``, ``KeyError``...)
is ignored with the reason too; a network failure is retried with backoff. Types without a
handler are stored and ignored.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.federation.remote.memo import FetchMemo
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from models import Actor, InboxItem

__all__ = [
    "HANDLERS",
    "LOCAL_ACTOR_REFUSED",
    "PREPARERS",
    "Handler",
    "Ignore",
    "InboundContext",
    "PrepareContext",
    "Preparer",
    "fetch_object",
    "handles",
    "load_handlers",
]


@dataclass
class InboundContext:
    """Everything a handler needs to process one received activity.

    ``actor`` is the sender (``activity["actor"]``), already in the actors table; ``db`` is the
    session the handler must use for all its writes (including ``publish`` of replies such as
    an ``Accept``), so the whole reaction commits or rolls back together.
    """

    state: AppState
    db: AsyncSession
    item: InboxItem
    activity: dict[str, Any]
    actor: Actor


@dataclass
class PrepareContext:
    """What a handler's ``prepare`` step gets: the activity, no database session."""

    state: AppState
    activity: dict[str, Any]
    sender_id: str
    memo: FetchMemo

    async def fetch(self, url: str) -> dict[str, Any] | None:
        """Fetch ``url`` into the memo (once); the document, or None when it failed."""
        found = self.memo.documents.get(url)
        if found is None:

            found = await get_federation(self.state).fetcher.fetch_into(self.memo, url)
        return found if isinstance(found, dict) else None


Handler = Callable[[InboundContext], Awaitable[None]]
Preparer = Callable[[PrepareContext], Awaitable[None]]

HANDLERS: dict[str, Handler] = {}
PREPARERS: dict[str, Preparer] = {}


# Our own activities never come through the inbox (publish applies their local effects
# directly), so an inbound one whose actor is local can only be forged: the inbox refuses
# it at the door, the worker ignores a stored one, both with this reason.
LOCAL_ACTOR_REFUSED = "actor is local: our own activities never come through the inbox"


class Ignore(Exception):
    """Raised by a handler to mark the item ``ignored`` (not for us, nothing to do)."""


def handles(*types: str, prepare: Preparer | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of the given activity types.

    ``prepare``, when given, runs before it with no transaction open, to fetch what the
    generic prepare step does not know the handler needs.
    """

    def register(handler: Handler) -> Handler:
        for kind in types:
            existing = HANDLERS.get(kind)
            if existing is not None and existing is not handler:
                raise RuntimeError(
                    f"two handlers for {kind}: {existing.__module__} and {handler.__module__}"
                )
            HANDLERS[kind] = handler
            if prepare is not None:
                PREPARERS[kind] = prepare
        return handler

    return register


_loaded: list[bool] = []


def load_handlers() -> dict[str, Handler]:
    """Import every module of ``fedi.federation.incoming.handlers``; return the table."""
    if not _loaded:
        package = importlib.import_module("fedi.federation.incoming.handlers")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"fedi.federation.incoming.handlers.{info.name}")
        _loaded.append(True)
    return HANDLERS


async def fetch_object(ctx: InboundContext, ap_id: str) -> dict[str, Any]:
    """Fetch ``ap_id`` from its origin (signed by the instance actor) and return the JSON.

    Use it for embedded objects from another host than the sender's, which must never be
    trusted as sent. Raises ``activitypub.fetcher.FetchError`` (``.gone`` for 404/410).
    """

    return await get_federation(ctx.state).fetcher.fetch_json(ap_id)
