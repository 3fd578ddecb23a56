"""Inbound ``Follow``: someone asks to follow one of our actors."""

from __future__ import annotations

from fedi.federation.incoming import follows
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Follow")
async def on_follow(ctx: InboundContext) -> None:
    """Record the follow (accepting at once unless the account is locked)."""
    if await follows.receive_follow(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Follow of nobody we host")
