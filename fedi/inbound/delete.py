"""Inbound ``Delete``: of a note by its author, or of the sending account itself."""

from __future__ import annotations

from fedi.inbound.registry import InboundContext, handles
from fedi.services import initiative_inbound, notes


@handles("Delete")
async def on_delete(ctx: InboundContext) -> None:
    """Tombstone the note, or mark the actor gone and drop its follows."""
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_delete(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    await notes.receive_delete(ctx.db, ctx.state, ctx.actor, ctx.activity)
