"""Inbound ``Flag``: a report from another server (Mastodon, Lemmy) for moderators."""

from __future__ import annotations

from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Flag")
async def on_flag(ctx: InboundContext) -> None:
    """Store the report, for the tribe it concerns or for the instance admins."""
    if not await tribe_inbound.receive_flag(ctx.db, ctx.state, ctx.actor, ctx.activity):
        raise Ignore("Flag of nothing")
