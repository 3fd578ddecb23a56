"""Inbound ``Leave``: a partner leaving an initiative (``Leave{Page}``), or Mobilizon's way of
leaving a group (a tribe here)."""

from __future__ import annotations

from activitypub.vocab import id_of
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Leave")
async def on_leave(ctx: InboundContext) -> None:
    """Leave the initiative's partners, or the tribe (withdraw a request, decline an
    invitation)."""
    # Meetups: their Event ids are ours alone (``incoming.meetups``).
    if await meetup_inbound.claim_leave(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    # Initiatives first: a Page id is no tribe.
    if await initiative_inbound.claim_leave(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    tribe = await tribe_inbound.tribe_by_actor_id(ctx.db, id_of(ctx.activity.get("object")))
    if tribe is None:
        raise Ignore("Leave of nothing we host")
    if not await tribe_inbound.receive_tribe_leave(ctx.db, ctx.state, tribe, ctx.actor):
        raise Ignore("not a member")
