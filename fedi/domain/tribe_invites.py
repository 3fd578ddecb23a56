"""Tribe invitations: links with a token, e-mail invitations, and inviting known people.

An e-mail invitation is mailed to its address (``fedi.domain.invite_mail``) and the admin
also gets the link to pass on. An e-mail invitation is also claimed
automatically by the person who registers or logs in with that address
(``claim_email_invites``). Inviting a person (local, or remote by handle) makes an
``invited`` membership that they accept by joining. Only token hashes are stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.accounts import validate_email
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_tribes import InviteCreated
from fedi.domain.ids import new_activity_id
from fedi.domain.invite_mail import queue_tribe_invite_mail
from fedi.domain.secrets_util import hash_secret, new_secret
from fedi.domain.tribe_access import is_blocked, membership, require_role
from fedi.domain.tribe_changes import membership_changed, record_event
from fedi.domain.tribe_members import approve_request
from fedi.domain.tribe_tokens import find_token_invite, use_token
from fedi.settings import Settings
from models import Actor, Tribe, TribeInvite, TribeMember, utcnow

__all__ = [
    "InviteEntries",
    "claim_email_invites",
    "create_invite_link",
    "find_token_invite",
    "invite_actor",
    "invite_email",
    "invite_url",
    "list_invites",
    "open_email_addresses",
    "parse_invite_entries",
    "revoke_invite",
    "use_token",
]

MAX_ENTRIES = 100
_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class InviteEntries:
    """A typed list of people to invite, sorted into handles and e-mail addresses."""

    handles: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def parse_invite_entries(text: str) -> InviteEntries:
    """Split a list into handles (``@name@host`` or a local ``name``) and e-mail addresses.

    ``name@host`` without a leading ``@`` is read as an e-mail address, so people can paste
    an address list as it is; Fediverse handles are written with the leading ``@``.
    """
    entries = InviteEntries()
    items = [item for item in _SPLIT.split(text.strip()) if item]
    if len(items) > MAX_ENTRIES:
        raise ServiceError(
            "Please invite at most %(max)s people at once.", field="entries", max=MAX_ENTRIES
        )
    for item in items:
        if item.startswith("@") or "@" not in item:
            handle = item.lstrip("@")
            if handle and handle not in entries.handles:
                entries.handles.append(handle)
            elif not handle:
                entries.invalid.append(item)
            continue
        try:
            email = validate_email(item)
        except ServiceError:
            entries.invalid.append(item)
            continue
        if email not in entries.emails:
            entries.emails.append(email)
    return entries


def _check_limits(max_uses: int, expires_in_days: int | None) -> None:
    if max_uses < 1 or max_uses > 1000:
        raise ServiceError("An invitation can be used 1 to 1000 times.", field="max_uses")
    if expires_in_days is not None and (expires_in_days < 1 or expires_in_days > 365):
        raise ServiceError("An invitation is valid for 1 to 365 days.", field="expires_in_days")


def invite_url(settings: Settings, tribe: Tribe, token: str) -> str:
    """The link that admits its holder to the tribe."""
    return settings.url(f"/tribes/{tribe.slug}/join/{token}")


async def _new_invite(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    by: Actor,
    *,
    kind: str,
    email: str | None,
    max_uses: int,
    expires_in_days: int | None,
) -> str:
    _check_limits(max_uses, expires_in_days)
    token = new_secret(24)
    invite = TribeInvite(
        tribe_id=tribe.id,
        kind=kind,
        token_hash=hash_secret(token),
        email=email,
        max_uses=max_uses,
        expires_at=(utcnow() + timedelta(days=expires_in_days)) if expires_in_days else None,
        created_by_id=by.id,
    )
    db.add(invite)
    await db.flush()
    await emit(db, settings, InviteCreated(actor=by, tribe=tribe, invite=invite))
    return invite_url(settings, tribe, token)


async def create_invite_link(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    by: Actor,
    *,
    max_uses: int = 1,
    expires_in_days: int | None = 7,
) -> str:
    """An invitation link for anyone who gets it (admins only); shown once."""
    await require_role(db, tribe, by, "admin")
    return await _new_invite(
        db, settings, tribe, by, kind="link", email=None, max_uses=max_uses,
        expires_in_days=expires_in_days,
    )


async def invite_email(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    by: Actor,
    email: str,
    *,
    expires_in_days: int | None = 30,
) -> str:
    """An invitation for one e-mail address (admins only), mailed; returns its link too.

    Whoever registers or logs in with that address is invited automatically, even without
    the link.
    """
    await require_role(db, tribe, by, "admin")
    address = validate_email(email)
    link = await _new_invite(
        db, settings, tribe, by, kind="email", email=address, max_uses=1,
        expires_in_days=expires_in_days,
    )
    # Issue 12: the invitation is mailed too (queued; the mail worker sends it).
    await queue_tribe_invite_mail(db, settings, tribe, by, address, link)
    return link


async def invite_actor(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    by: Actor,
    target: Actor,
    *,
    activity_id: str | None = None,
) -> TribeMember:
    """Invite a known person, local or remote (admins only): an ``invited`` membership.

    A pending request from them is simply approved. ``activity_id`` is the id of the
    ``Invite`` that tells a remote person (minted here when not given).
    """
    await require_role(db, tribe, by, "admin")
    if target.id == tribe.actor_id or target.type == "Group":
        raise ServiceError("Only people can be invited.", field="entries")
    if await is_blocked(db, tribe, target):
        raise Forbidden("%(name)s is blocked in this tribe.", name=target.handle)
    member = await membership(db, tribe, target)
    if member is not None:
        if member.state == "pending":
            return await approve_request(db, settings, tribe, by, target)
        if member.state == "active":
            raise Conflict("%(name)s is already a member.", name=target.handle)
        return member
    if activity_id is None and not target.local:
        activity_id = new_activity_id(settings, "invite")
    member = TribeMember(
        tribe_id=tribe.id, actor_id=target.id, role="member", state="invited",
        invited_by_id=by.id, activity_ap_id=activity_id,
    )
    member.actor = target
    db.add(member)
    await db.flush()
    await record_event(db, tribe, "invited", subject_id=target.id, by_id=by.id)
    await membership_changed(db, settings, tribe, member, "invited", by)
    return member


async def open_email_addresses(db: AsyncSession, *, limit: int) -> frozenset[str] | None:
    """The addresses open e-mail invitations wait for, lower-cased as ``claim_email_invites``
    matches them; None when there are more than ``limit`` (then ask per person).

    Lets a page skip the claim for the many people no invitation waits for.
    """
    rows = list(await db.scalars(
        select(func.lower(TribeInvite.email))
        .where(TribeInvite.kind == "email", TribeInvite.state == "open")
        .limit(limit + 1)
    ))
    if len(rows) > limit:
        return None
    return frozenset(address for address in rows if address)


async def claim_email_invites(
    db: AsyncSession, settings: Settings, actor: Actor, email: str
) -> list[TribeMember]:
    """Turn open e-mail invitations for ``email`` into invitations for ``actor``.

    Called when a person registers or logs in (and when they open tribe pages), so an
    invitation sent to an address reaches its owner without the link.
    """
    address = email.strip().lower()
    if not address:
        return []
    invites = list(
        await db.scalars(
            select(TribeInvite).where(
                TribeInvite.kind == "email",
                TribeInvite.state == "open",
                func.lower(TribeInvite.email) == address,
            )
        )
    )
    claimed: list[TribeMember] = []
    now = utcnow()
    for invite in invites:
        if invite.expires_at is not None and invite.expires_at <= now:
            continue
        tribe = await db.get(Tribe, invite.tribe_id)
        if tribe is None or await is_blocked(db, tribe, actor):
            continue
        invite.state = "used"
        invite.uses += 1
        invite.actor_id = actor.id
        if await membership(db, tribe, actor) is not None:
            continue
        member = TribeMember(
            tribe_id=tribe.id, actor_id=actor.id, role="member", state="invited",
            invited_by_id=invite.created_by_id,
        )
        member.actor = actor
        db.add(member)
        await db.flush()
        await record_event(
            db, tribe, "invited", subject_id=actor.id, by_id=invite.created_by_id
        )
        await membership_changed(db, settings, tribe, member, "invited", actor)
        claimed.append(member)
    await db.flush()
    return claimed


async def list_invites(db: AsyncSession, tribe: Tribe, *, state: str = "open") -> list[TribeInvite]:
    """Link and e-mail invitations of the tribe in ``state``, newest first."""
    rows = await db.scalars(
        select(TribeInvite)
        .where(TribeInvite.tribe_id == tribe.id, TribeInvite.state == state)
        .order_by(TribeInvite.created_at.desc(), TribeInvite.id.desc())
    )
    return list(rows.all())


async def revoke_invite(
    db: AsyncSession, settings: Settings, tribe: Tribe, by: Actor, invite_id: int
) -> TribeInvite:
    """Stop an open invitation from working (admins only)."""
    await require_role(db, tribe, by, "admin")
    invite = await db.get(TribeInvite, invite_id)
    if invite is None or invite.tribe_id != tribe.id:
        raise NotFound("This invitation does not exist.")
    invite.state = "revoked"
    await db.flush()
    return invite
