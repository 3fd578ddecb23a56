"""Inbound ``Like``: a favourite of a note we know."""

from __future__ import annotations

from fedi.inbound.registry import Ignore, InboundContext, handles
from fedi.services import initiative_inbound, reactions


@handles("Like")
async def on_like(ctx: InboundContext) -> None:
    """Count the like once."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_like(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await reactions.receive_like(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Like of an unknown note")
