"""Inbound ``Offer``: someone offers a contribution to a task of an initiative we keep."""

from __future__ import annotations

from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Offer")
async def on_offer(ctx: InboundContext) -> None:
    """Record the offer through the contributions service (which enforces every rule)."""
    offer = await initiative_inbound.receive_offer(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if offer is None:
        raise Ignore("Offer of nothing we keep, or refused")
