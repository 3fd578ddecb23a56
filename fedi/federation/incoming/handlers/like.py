"""Inbound ``Like``: a favourite of a note we know."""

from __future__ import annotations

from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import reactions
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Like")
async def on_like(ctx: InboundContext) -> None:
    """Count the like once."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_like(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await reactions.receive_like(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Like of an unknown note")
