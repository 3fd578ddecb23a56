"""Inbound ``Join``: Mobilizon's way of joining an event (a meetup) or a group (a tribe here)."""

from __future__ import annotations

from activitypub.vocab import id_of
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Join")
async def on_join(ctx: InboundContext) -> None:
    """Join the tribe per its join mode, exactly like a Follow (Accept/Reject answer it)."""
    # Meetups: their Event ids are ours alone (``incoming.meetups``).
    if await meetup_inbound.claim_join(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_join(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    tribe = await tribe_inbound.tribe_by_actor_id(ctx.db, id_of(ctx.activity.get("object")))
    if tribe is None:
        raise Ignore("Join of nothing we host")
    await tribe_inbound.receive_tribe_follow(ctx.db, ctx.state, tribe, ctx.actor, ctx.activity)
