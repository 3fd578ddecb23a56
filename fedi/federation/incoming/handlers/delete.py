"""Inbound ``Delete``: of a note by its author, or of the sending account itself."""

from __future__ import annotations

from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import notes
from fedi.federation.incoming.registry import InboundContext, handles


@handles("Delete")
async def on_delete(ctx: InboundContext) -> None:
    """Tombstone the note, or mark the actor gone and drop its follows."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_delete(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    await notes.receive_delete(ctx.db, ctx.state, ctx.actor, ctx.activity)
