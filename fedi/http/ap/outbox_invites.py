"""Client-to-server invitations by e-mail and by link, and revoking them.

The web pages invite people three ways; inviting a known person (``Invite{object: person,
target: tribe}``) is ``outbox_tribes``. The other two have no person to name, so we use
the form AS2 allows for any ``Invite``: ``object`` is who is invited, ``target`` what to.

==========================================================  ================================
posted                                                      service
==========================================================  ================================
``Invite{object: "mailto:a@b.example", target: Group}``      ``tribe_invites.invite_email``
(one or more ``mailto:`` URIs; admins)                      (mailed, claimed on sign-up)
``Invite{object: ["mailto:..."], target: Page}`` (the        ``invite_mail.invite_to_``
initiative's creator and partners)                          ``initiative`` (mailed)
``Invite{target: Group}`` without ``object``: an            ``tribe_invites.create_invite_``
invitation link (``pu:maxUses``, ``pu:expiresInDays``)        ``link``; the answer's ``url``
                                                            is the link (shown once)
``Undo`` of a tribe e-mail or link ``Invite`` (its id, or   ``tribe_invites.revoke_invite``
the embedded ``Invite``)
``Undo`` of an ``Invite`` of a person not yet answered      ``tribe_members.remove_member``
                                                            (withdraws the invitation)
==========================================================  ================================

These activities federate nothing (a mailbox is no inbox): the answer is an ``Invite``
addressed to nobody, dereferenceable by its author only. A link's ``url`` is the secret
that admits its holder, so only that record carries it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, id_of
from fedi.domain import invite_mail, tribe_invites, tribe_members
from fedi.domain.errors import NotFound
from fedi.domain.secrets_util import hash_secret
from fedi.domain.tribe_access import membership, require_role
from fedi.http.ap.outbox_common import BadActivity, mark, named_ids, record_only, result
from fedi.http.ap.outbox_tribes import tribe_named
from fedi.state import AppState
from models import Actor, Initiative, OutboxActivity, Tribe, TribeInvite

__all__ = ["is_mail_or_link_invite", "perform"]

MAILTO = "mailto:"


def _addresses(document: dict[str, Any]) -> list[str]:
    """The e-mail addresses of an ``Invite``'s ``mailto:`` objects."""
    return [
        ident.removeprefix(MAILTO)
        for ident in (id_of(x) for x in as_list(document.get("object")))
        if ident and ident.lower().startswith(MAILTO)
    ]


def is_mail_or_link_invite(document: dict[str, Any]) -> bool:
    """Whether ``document`` is an ``Invite`` of e-mail addresses or for a link (no
    object): no actor to fetch before the write."""
    if document.get("type") != "Invite":
        return False
    return not as_list(document.get("object")) or bool(_addresses(document))


async def _target(db: AsyncSession, document: dict[str, Any]) -> Tribe | Initiative | None:
    for ident in [id_of(x) for x in as_list(document.get("target"))] + [
        id_of(x) for x in as_list(document.get("audience"))
    ]:
        if not ident:
            continue
        tribe = await tribe_named(db, ident)
        if tribe is not None and tribe.actor.local:
            return tribe
        page = await db.scalar(select(Initiative).where(Initiative.ap_id == ident))
        if page is not None and page.deleted_at is None:
            return page
    return None


def _int_term(document: dict[str, Any], name: str, default: int | None) -> int | None:
    for key in (f"pu:{name}", name):
        value = document.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


async def _invite(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity:
    settings = state.settings
    target = await _target(db, document)
    if target is None:
        raise BadActivity("name the tribe or the initiative in target")
    addresses = _addresses(document)
    target_id = target.actor.ap_id if isinstance(target, Tribe) else target.ap_id
    if isinstance(target, Initiative):
        if not addresses:
            raise BadActivity("an initiative invites by e-mail: mailto: addresses in object")
        sent = await invite_mail.invite_to_initiative(db, settings, target, owner, addresses)
        return await record_only(
            db, settings, owner, "Invite", [MAILTO + a for a in sent], target=target_id
        )
    if addresses:
        mailed: list[str] = []
        for address in addresses:
            await tribe_invites.invite_email(db, settings, target, owner, address)
            mailed.append(MAILTO + address.strip().lower())
        return await record_only(db, settings, owner, "Invite", mailed, target=target_id)
    link = await tribe_invites.create_invite_link(
        db, settings, target, owner,
        max_uses=_int_term(document, "maxUses", 1) or 1,
        expires_in_days=_int_term(document, "expiresInDays", 7),
    )
    return await record_only(db, settings, owner, "Invite", None, target=target_id, url=link)


async def _open_invites(
    db: AsyncSession, tribe: Tribe, original: dict[str, Any]
) -> list[TribeInvite]:
    """The open invitations an ``Invite`` made: its link's, or its addresses'."""
    link = original.get("url")
    if isinstance(link, str) and "/join/" in link:
        token = link.rsplit("/join/", 1)[1]
        rows = await db.scalars(
            select(TribeInvite).where(
                TribeInvite.tribe_id == tribe.id, TribeInvite.token_hash == hash_secret(token),
                TribeInvite.state == "open",
            )
        )
        return list(rows.all())
    addresses = [a.lower() for a in _addresses(original)]
    if not addresses:
        return []
    rows = await db.scalars(
        select(TribeInvite).where(
            TribeInvite.tribe_id == tribe.id, TribeInvite.kind == "email",
            TribeInvite.state == "open", func.lower(TribeInvite.email).in_(addresses),
        )
    )
    return list(rows.all())


async def _undo(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    inner = document.get("object")
    inner_id = id_of(inner)
    original: Any = None
    if inner_id:
        row = await db.scalar(
            select(OutboxActivity).where(
                OutboxActivity.ap_id == inner_id, OutboxActivity.type == "Invite"
            )
        )
        if row is not None:
            original = row.payload
    if original is None and isinstance(inner, dict):
        original = inner
    if not isinstance(original, dict) or original.get("type") != "Invite":
        return None
    tribe = await tribe_named(db, id_of(original.get("target")))
    if not is_mail_or_link_invite(original):
        return await _withdraw(db, state, owner, original, inner_id, tribe)
    if tribe is None or not tribe.actor.local:
        raise BadActivity("only a tribe's e-mail and link invitations can be revoked")
    # Admins only, checked before telling whether such an invitation exists.
    await require_role(db, tribe, owner, "admin")
    invites = await _open_invites(db, tribe, original)
    if not invites:
        raise NotFound("This invitation does not exist.")
    for invite in invites:
        await tribe_invites.revoke_invite(db, state.settings, tribe, owner, invite.id)
    return await record_only(
        db, state.settings, owner, "Undo", inner_id or original, target=tribe.actor.ap_id
    )


async def _withdraw(
    db: AsyncSession, state: AppState, owner: Actor, original: dict[str, Any],
    inner_id: str | None, tribe: Tribe | None,
) -> OutboxActivity | None:
    """``Undo{Invite}`` of a person: the members page's remove button on an invitation."""
    people = named_ids(original.get("object"))
    if tribe is None or not tribe.actor.local or len(people) != 1:
        return None
    await require_role(db, tribe, owner, "moderator")  # before telling whether it exists
    person = await db.scalar(select(Actor).where(Actor.ap_id == people[0]))
    member = await membership(db, tribe, person) if person is not None else None
    if person is None or member is None or member.state != "invited":
        raise NotFound("There is no open invitation for this person.")
    before = await mark(db)
    await tribe_members.remove_member(db, state.settings, tribe, owner, person)
    return await result(
        db, state.settings, before, owner, "Undo", inner_id or original, on_behalf=tribe.actor
    )


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """An e-mail or link ``Invite``, or its ``Undo``; None for anything else."""
    kind = document.get("type")
    if kind == "Invite" and is_mail_or_link_invite(document):
        return await _invite(db, state, owner, document)
    if kind == "Undo":
        return await _undo(db, state, owner, document)
    return None
