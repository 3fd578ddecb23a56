"""Inbound ``Accept``: an actor we asked to follow has accepted, or someone we invited
into a tribe accepts the ``Invite`` (Mobilizon)."""

from __future__ import annotations

from fedi.federation.incoming import follows
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Accept")
async def on_accept(ctx: InboundContext) -> None:
    """Mark our pending follow of the sender as accepted (or join the inviting tribe)."""
    # Meetups: their Event ids are ours alone (``incoming.meetups``).
    if await meetup_inbound.claim_answer(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_accept(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await tribe_inbound.receive_invite_answer(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await follows.receive_accept(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Accept of no follow request of ours")
