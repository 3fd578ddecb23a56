"""Inbound ``Follow``: someone asks to follow one of our actors."""

from __future__ import annotations

from fedi.domain import notify_social
from fedi.federation.incoming import follows
from fedi.federation.incoming.registry import Ignore, InboundContext, handles
from models import Actor


@handles("Follow")
async def on_follow(ctx: InboundContext) -> None:
    """Record the follow (accepting at once unless the account is locked)."""
    # Kept here: the notification needs the same actor (the session keeps no strong
    # reference to it, so looking it up again would mean another query).
    target = await follows.follow_target(ctx.db, ctx.activity)
    row = await follows.receive_follow_of(ctx.db, ctx.state, ctx.actor, ctx.activity, target)
    if row is None:
        raise Ignore("Follow of nobody we host")
    # Issue 12: the person followed hears of it (a tribe's follow is a join: told there).
    if target is None or target.id != row.followed_id:
        target = await ctx.db.get(Actor, row.followed_id)
    if target is not None and target.type == "Person":
        await notify_social.followed(ctx.db, ctx.actor, target, accepted=row.accepted)
