"""Inbound ``Announce``: a boost of a note (fetched from its origin when new to us)."""

from __future__ import annotations

from fedi.inbound.registry import Ignore, InboundContext, handles
from fedi.services import reactions


@handles("Announce")
async def on_announce(ctx: InboundContext) -> None:
    """Record the boost once."""
    if await reactions.receive_announce(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Announce of nothing we can show")
