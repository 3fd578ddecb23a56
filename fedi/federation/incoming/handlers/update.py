"""Inbound ``Update``: an edited note, or the sender's own profile."""

from __future__ import annotations

from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import notes
from fedi.federation.incoming import polls as poll_inbound
from fedi.federation.incoming.registry import InboundContext, handles


@handles("Update")
async def on_update(ctx: InboundContext) -> None:
    """Apply the edit if the sender is the author."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_update(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    await notes.receive_update(ctx.db, ctx.state, ctx.actor, ctx.activity)
    # Polls (issue 15): new counts or the final result of a remote Question.
    await poll_inbound.refresh_after_update(ctx.db, ctx.activity)
