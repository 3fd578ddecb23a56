"""Inbound ``Like``: a favourite of a note we know."""

from __future__ import annotations

from fedi.domain import notify_social
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import reactions
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Like")
async def on_like(ctx: InboundContext) -> None:
    """Count the like once."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_like(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    reaction = await reactions.receive_like(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if reaction is None:
        raise Ignore("Like of an unknown note")
    # Issue 12: the author hears of it (once, however often the Like is delivered).
    await notify_social.reaction_received(ctx.db, ctx.actor, reaction)
