"""Inbound ``Reject``: an actor refused our follow request (or removed us as a follower),
or someone we invited into a tribe declines the ``Invite`` (Mobilizon)."""

from __future__ import annotations

from fedi.inbound.registry import InboundContext, handles
from fedi.services import follows, tribe_inbound


@handles("Reject")
async def on_reject(ctx: InboundContext) -> None:
    """Drop our follow of the sender (or decline the tribe's invitation)."""
    if await tribe_inbound.receive_invite_answer(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    await follows.receive_reject(ctx.db, ctx.state, ctx.actor, ctx.activity)
