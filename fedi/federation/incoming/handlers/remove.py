"""Inbound ``Remove{object, target}``: a (remote) moderator of our tribe removes a post."""

from __future__ import annotations

from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Remove")
async def on_remove(ctx: InboundContext) -> None:
    """Remove the post from the tribe if the sender moderates it."""
    if not await tribe_inbound.receive_remove(ctx.db, ctx.state, ctx.actor, ctx.activity):
        raise Ignore("Remove by someone who does not moderate the target")
