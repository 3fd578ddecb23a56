"""Inbound ``Dislike``: Lemmy's down-vote, announced when it is about a tribe post."""

from __future__ import annotations

from fedi.federation.incoming import reactions
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Dislike")
async def on_dislike(ctx: InboundContext) -> None:
    """Let the tribe announce it (we keep no down-vote counts)."""
    if not await reactions.receive_dislike(ctx.db, ctx.state, ctx.actor, ctx.activity):
        raise Ignore("Dislike of nothing in a tribe")
