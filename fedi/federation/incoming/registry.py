"""The one table of inbound activity handlers, and the context each handler receives.

A handler module looks like::

    from fedi.federation.incoming.registry import InboundContext, handles

    @handles("Follow")
    async def on_follow(ctx: InboundContext) -> None:
        await follows.receive_follow(ctx.db, ctx.state, ctx.actor, ctx.activity)

The inbox worker opens a session, loads (or fetches) the sending actor, builds an
:class:`InboundContext` and awaits ``HANDLERS[type](ctx)``. The session commits when the
handler returns; an exception rolls everything back and the item is retried with backoff.
A handler that decides an activity is not for us raises :class:`Ignore` (the item is then
marked ``ignored``, not retried). Types without a handler are stored and ignored.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.state import AppState
from models import Actor, InboxItem

__all__ = [
    "HANDLERS",
    "Handler",
    "Ignore",
    "InboundContext",
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

    @property
    def local(self) -> bool:
        """Whether the activity was produced on this instance (published to local recipients)."""
        return bool(self.actor.local)


Handler = Callable[[InboundContext], Awaitable[None]]

HANDLERS: dict[str, Handler] = {}


class Ignore(Exception):
    """Raised by a handler to mark the item ``ignored`` (not for us, nothing to do)."""


def handles(*types: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of the given activity types."""

    def register(handler: Handler) -> Handler:
        for kind in types:
            existing = HANDLERS.get(kind)
            if existing is not None and existing is not handler:
                raise RuntimeError(
                    f"two handlers for {kind}: {existing.__module__} and {handler.__module__}"
                )
            HANDLERS[kind] = handler
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
    from fedi.federation.runtime import get_federation

    return await get_federation(ctx.state).fetcher.fetch_json(ap_id)
