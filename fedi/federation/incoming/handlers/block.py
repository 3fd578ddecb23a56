"""Inbound ``Block``: someone blocks our tribe, or a tribe moderator bans a person."""

from __future__ import annotations

from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Block")
async def on_block(ctx: InboundContext) -> None:
    """Leave the blocked tribe, or apply a moderator's tribe ban (Lemmy's shape)."""
    if not await tribe_inbound.receive_block(ctx.db, ctx.state, ctx.actor, ctx.activity):
        raise Ignore("Block with nothing for us to do")
