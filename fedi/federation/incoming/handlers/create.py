"""Inbound ``Create``: a new note (or article, page, question) from its author."""

from __future__ import annotations

from fedi.federation.incoming import notes
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Create")
async def on_create(ctx: InboundContext) -> None:
    """Store the object once, sanitised, if the sender is its author."""
    if await notes.receive_create(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Create of nothing we store")
