"""Inbound ``Announce``: a boost of a note (fetched from its origin when new to us), or a
remote tribe forwarding an edit or deletion of one of its initiatives (FEP-1b12)."""

from __future__ import annotations

from fedi.domain import notify_social
from fedi.federation.incoming import initiatives as initiative_inbound
from fedi.federation.incoming import reactions
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Announce")
async def on_announce(ctx: InboundContext) -> None:
    """Apply an initiative's announced change, or record the boost once."""
    inner = ctx.activity.get("object")
    # Initiatives first: their Page, Ticket and comment ids are not notes.
    if isinstance(inner, dict) and await initiative_inbound.receive_announced_change(
        ctx.db, ctx.state, ctx.actor, inner
    ):
        return
    boost = await reactions.receive_announce(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if boost is None:
        raise Ignore("Announce of nothing we can show")
    # Issue 12: the author hears of a boost (a group's forward is no Reaction: skipped).
    await notify_social.reaction_received(ctx.db, ctx.actor, boost)
