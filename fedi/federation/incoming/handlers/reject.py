"""Inbound ``Reject``: an actor refused our follow request (or removed us as a follower),
or someone we invited into a tribe declines the ``Invite`` (Mobilizon)."""

from __future__ import annotations

from fedi.federation.incoming import follows
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import InboundContext, handles


@handles("Reject")
async def on_reject(ctx: InboundContext) -> None:
    """Drop our follow of the sender (or decline the tribe's invitation)."""
    # Meetups: their Event ids are ours alone (``incoming.meetups``).
    if await meetup_inbound.claim_answer(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_accept(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await tribe_inbound.receive_invite_answer(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    await follows.receive_reject(ctx.db, ctx.state, ctx.actor, ctx.activity)
