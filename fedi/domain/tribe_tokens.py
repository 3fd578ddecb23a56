"""Invitation tokens of tribes: finding a usable link or e-mail invitation, counting a use.

Only token hashes are stored. Joining with a token (``tribe_members.join``) and the
invitation pages (``tribe_invites``) both go through here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Forbidden
from fedi.domain.secrets_util import hash_secret
from models import Actor, Tribe, TribeInvite, utcnow

__all__ = ["find_token_invite", "use_token"]


async def find_token_invite(db: AsyncSession, tribe: Tribe, token: str) -> TribeInvite | None:
    """The usable link or e-mail invitation of ``tribe`` for ``token``, or None."""
    if not token or len(token) > 200:
        return None
    invite = await db.scalar(
        select(TribeInvite).where(TribeInvite.token_hash == hash_secret(token))
    )
    if invite is None or invite.tribe_id != tribe.id or invite.state != "open":
        return None
    if invite.uses >= invite.max_uses:
        return None
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        return None
    return invite


async def use_token(db: AsyncSession, tribe: Tribe, token: str, actor: Actor) -> TribeInvite:
    """Count one use of an invitation token, or ``Forbidden`` when it is not valid."""
    invite = await find_token_invite(db, tribe, token)
    if invite is None:
        raise Forbidden("This invitation link is not valid (any more).", field="invite")
    invite.uses += 1
    if invite.kind == "email":
        invite.actor_id = actor.id
    if invite.uses >= invite.max_uses:
        invite.state = "used"
    await db.flush()
    return invite
