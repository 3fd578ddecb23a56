"""Inbound ``Create``: a new note (or article, page, question) from its author."""

from __future__ import annotations

from fedi.domain import notify_social
from fedi.federation.incoming import notes
from fedi.federation.incoming import polls as poll_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, handles
from models import ApObject


@handles("Create")
async def on_create(ctx: InboundContext) -> None:
    """Store the object once, sanitised, if the sender is its author."""
    # Polls (issue 15): a vote (a Note with ``name``, inReplyTo a Question of ours) is
    # counted, never stored as a reply.
    if await poll_inbound.claim_vote(ctx.db, ctx.state, ctx.actor, ctx.activity):
        return
    stored = await notes.receive_create(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if stored is None:
        raise Ignore("Create of nothing we store")
    # Issue 12: replies and mentions from other servers (direct messages were told
    # already by the notes receiver).
    if isinstance(stored, ApObject):
        await notify_social.note_arrived(ctx.db, stored, ctx.actor, direct_told=True)
