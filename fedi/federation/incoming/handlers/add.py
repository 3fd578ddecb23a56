"""Inbound ``Add``: the server hosting an initiative hands on a reply or favourite that was
delivered only to it (Mastodon sends replies and likes to the author's inbox alone)."""

from __future__ import annotations

from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Add")
async def on_add(ctx: InboundContext) -> None:
    """Apply the relayed activity to our copy of the initiative."""
    if not await initiative_inbound.receive_add(ctx.db, ctx.state, ctx.actor, ctx.activity):
        raise Ignore("Add of nothing we keep")
