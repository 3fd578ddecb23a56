"""Inbound ``Invite{object: tribe, target: person}`` from a (remote) admin of our tribe.

Mobilizon lets group admins invite people; an admin of one of our tribes who lives on
another server invites the same way. Invitations into groups elsewhere are not supported.
"""

from __future__ import annotations

from activitypub.vocab import id_of
from fedi.domain import tribe_invites
from fedi.domain.errors import ServiceError
from fedi.federation.incoming import tribes as tribe_inbound
from fedi.federation.incoming.registry import Ignore, InboundContext, PrepareContext, handles
from fedi.federation.remote.actors import get_or_fetch_actor


async def fetch_target(ctx: PrepareContext) -> None:
    """Fetch the invited person ahead (apply looks them up without the network)."""
    target_id = id_of(ctx.activity.get("target"))
    if target_id and not ctx.state.settings.is_local_id(target_id):
        await ctx.fetch(target_id)


@handles("Invite", prepare=fetch_target)
async def on_invite(ctx: InboundContext) -> None:
    """Invite the target into the tribe when the sender is one of its admins."""
    tribe = await tribe_inbound.tribe_by_actor_id(ctx.db, id_of(ctx.activity.get("object")))
    target_id = id_of(ctx.activity.get("target"))
    if tribe is None or not target_id:
        raise Ignore("Invite into nothing we host")
    target = await get_or_fetch_actor(ctx.state, ctx.db, target_id)
    try:
        await tribe_invites.invite_actor(ctx.db, ctx.state.settings, tribe, ctx.actor, target)
    except ServiceError as exc:
        raise Ignore(exc.message) from exc
