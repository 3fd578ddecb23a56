"""Inbound ``Move`` (FEP-7628): a remote account our people follow moved elsewhere.

As Mastodon checks it: the sender must be the account that moves (``object`` is the
sender), and the target's own, freshly fetched document must list the sender in
``alsoKnownAs``; anything else is refused (ignored), so nobody can take another account's
followers. Then the old account is marked ``moved_to`` and our people who followed it
follow the target and unfollow the old account (``fedi.domain.account_move``). The target
may be one of ours (someone moved here): then its aliases are read from our own table.
"""

from __future__ import annotations

from activitypub.vocab import id_of
from fedi.domain import account_move
from fedi.domain.errors import ServiceError
from fedi.federation.incoming.registry import Ignore, InboundContext, PrepareContext, handles
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor


async def fetch_target(ctx: PrepareContext) -> None:
    """Fetch the target's current document ahead (its ``alsoKnownAs`` must be fresh)."""
    target_id = id_of(ctx.activity.get("target"))
    if target_id and not ctx.state.settings.is_local_id(target_id):
        await ctx.fetch(target_id)


@handles("Move", prepare=fetch_target)
async def on_move(ctx: InboundContext) -> None:
    """Move our followers of the sender to the target, once the target confirms the alias."""
    origin = ctx.actor
    if id_of(ctx.activity.get("object")) != origin.ap_id:
        raise Ignore("Move of another account than the sender")
    target_id = id_of(ctx.activity.get("target"))
    if not target_id or target_id == origin.ap_id:
        raise Ignore("Move without a target")
    try:
        target = await get_or_fetch_actor(ctx.state, ctx.db, target_id, refresh=True)
    except ActorUnavailable as exc:
        raise Ignore(f"Move target unavailable: {exc}") from exc
    try:
        account_move.check_alias_of(target, origin)
    except ServiceError as exc:
        raise Ignore(f"Move refused: {target_id} does not list {origin.ap_id} as an alias")\
            from exc
    origin.moved_to = target.ap_id
    await ctx.db.flush()
    await account_move.follow_the_move(ctx.db, ctx.state, origin, target)
