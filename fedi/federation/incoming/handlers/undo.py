"""Inbound ``Undo``: of a Follow, a Like or an Announce, dispatched by the inner type.

Mastodon and Lemmy embed the undone activity; some servers send only its id, in which case
we look the id up among the follows and reactions we stored.
"""

from __future__ import annotations

from sqlalchemy import select

from activitypub.vocab import id_of
from fedi.federation.incoming import follows, reactions
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import meetups as meetup_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles
from models import Follow, Reaction


@handles("Undo")
async def on_undo(ctx: InboundContext) -> None:
    """Undo the sender's earlier Follow, Like or Announce."""
    # Meetups: their Event ids are ours alone (``incoming.meetups``).
    if await meetup_inbound.claim_undo(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    # Initiatives first: their Page, Ticket, Offer and comment ids are not notes.
    if await initiative_inbound.claim_undo(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    inner = ctx.activity.get("object")
    kind = inner.get("type") if isinstance(inner, dict) else None
    if kind is None:
        inner_id = id_of(inner)
        if inner_id and await ctx.db.scalar(
            select(Follow.id).where(Follow.activity_ap_id == inner_id)
        ):
            kind = "Follow"
        elif inner_id and await ctx.db.scalar(
            select(Reaction.id).where(Reaction.activity_ap_id == inner_id)
        ):
            kind = "Like"
    if kind == "Follow":
        await follows.receive_undo_follow(ctx.db, ctx.state, ctx.actor, ctx.activity)
    elif kind in ("Like", "Announce", "Dislike"):
        await reactions.receive_undo_reaction(ctx.db, ctx.state, ctx.actor, ctx.activity)
    else:
        raise Ignore(f"Undo of {kind or 'something unknown'}")
