"""Inbound ``Update``: an edited note, or the sender's own profile."""

from __future__ import annotations

from fedi.inbound.registry import InboundContext, handles
from fedi.services import notes


@handles("Update")
async def on_update(ctx: InboundContext) -> None:
    """Apply the edit if the sender is the author."""
    await notes.receive_update(ctx.db, ctx.state, ctx.actor, ctx.activity)
