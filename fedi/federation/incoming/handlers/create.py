"""Inbound ``Create``: a new note (or article, page, question) from its author."""

from __future__ import annotations

from fedi.federation.incoming import notes
from fedi.federation.incoming import polls as poll_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles


@handles("Create")
async def on_create(ctx: InboundContext) -> None:
    """Store the object once, sanitised, if the sender is its author."""
    # Polls (issue 15): a vote (a Note with ``name``, inReplyTo a Question of ours) is
    # counted, never stored as a reply.
    if await poll_inbound.claim_vote(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    if await notes.receive_create(ctx.db, ctx.state, ctx.actor, ctx.activity) is None:
        raise Ignore("Create of nothing we store")
