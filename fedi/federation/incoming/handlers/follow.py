"""Inbound ``Follow``: someone asks to follow one of our actors."""

from __future__ import annotations

from fedi.domain import notify_social
from fedi.federation.incoming import follows
from fedi.federation.incoming.registry import Ignore, InboundContext, handles
from models import Actor


@handles("Follow")
async def on_follow(ctx: InboundContext) -> None:
    """Record the follow (accepting at once unless the account is locked)."""
    row = await follows.receive_follow(ctx.db, ctx.state, ctx.actor, ctx.activity)
    if row is None:
        raise Ignore("Follow of nobody we host")
    # Issue 12: the person followed hears of it (a tribe's follow is a join: told there).
    target = await ctx.db.get(Actor, row.followed_id)
    if target is not None and target.type == "Person":
        await notify_social.followed(ctx.db, ctx.actor, target, accepted=row.accepted)
