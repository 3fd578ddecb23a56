"""Inbound ``Create``: a new note (or article, page, question) from its author."""

from __future__ import annotations

from fedi.inbound.registry import Ignore, InboundContext, handles
from fedi.services import notes


@handles("Create")
async def on_create(ctx: InboundContext) -> None:
    """Store the object once, sanitised, if the sender is its author."""
    if await notes.receive_create(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Create of nothing we store")
