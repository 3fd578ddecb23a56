"""Client-to-server moderation of a tribe: ``Block``, ``Remove`` and ``Flag``.

The same services as the tribe's moderation pages, so the same rules (moderators and
admins only, audited):

=================================================  =========================================
posted                                             service
=================================================  =========================================
``Block{object: person, target: tribe}``           ``tribe_moderation.block_actor``
``Block{object: "domain.example", target: tribe}``  ``tribe_moderation.block_domain``
``Undo`` of that Block                             ``tribe_moderation.unblock``
``Remove{object: post id, target: tribe}``         ``tribe_distribution.remove_post``
``Remove{object: member, target: tribe}``          ``tribe_members.remove_member``
``Flag{object: [post or person ids], target:       ``tribe_moderation.file_report``
tribe}`` (``content``: why; without a tribe the
report goes to the instance's admins)
``Add{object: member, target: <tribe>/moderators}``  ``tribe_members.set_role`` (moderator;
``Remove`` of the same: back to member              Lemmy's form for its moderators)
=================================================  =========================================

``target`` may also be the tribe's outbox or members collection (what Lemmy and Mastodon
name in their ``Remove``), or the tribe may be in ``audience``. A ``Block`` without a tribe
is refused: there are no personal blocks here yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import id_of
from fedi.domain import tribe_members, tribe_moderation
from fedi.domain.errors import NotFound
from fedi.domain.tribe_access import membership
from fedi.federation.outgoing import tribe_distribution
from fedi.http.ap.outbox_common import (
    BadActivity,
    mark,
    named_ids,
    resolve_actor,
    result,
    text_of,
)
from fedi.http.ap.outbox_tribes import tribe_named
from fedi.state import AppState
from models import Actor, OutboxActivity, Tribe, TribeBlock

__all__ = ["perform", "tribe_of"]

_COLLECTIONS = ("/outbox", "/members", "/followers", "/moderators", "/featured")


async def tribe_of(db: AsyncSession, document: dict[str, Any]) -> Tribe | None:
    """The local tribe an activity names in ``target`` (or one of its collections) or
    ``audience``."""
    for ident in named_ids(document.get("target"), document.get("audience")):
        for suffix in _COLLECTIONS:
            if ident.endswith(suffix):
                ident = ident.removesuffix(suffix)
                break
        tribe = await tribe_named(db, ident)
        if tribe is not None and tribe.actor.local:
            return tribe
    return None


async def _block(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any], tribe: Tribe
) -> OutboxActivity:
    obj = document.get("object")
    ident = id_of(obj)
    if not ident:
        raise BadActivity("Block needs a person or a domain in object")
    reason = text_of(document, required=False)
    before = await mark(db)
    if ident.startswith(("http://", "https://")) or "@" in ident:
        target = await resolve_actor(db, state, ident)
        await tribe_moderation.block_actor(db, state.settings, tribe, owner, target, reason)
        shown = target.ap_id
    else:
        block = await tribe_moderation.block_domain(
            db, state.settings, tribe, owner, ident, reason
        )
        shown = block.domain or ident
    return await result(
        db, state.settings, before, owner, "Block", shown, on_behalf=tribe.actor,
        target=tribe.actor.ap_id,
    )


async def undo_block(
    db: AsyncSession, state: AppState, owner: Actor, original: dict[str, Any], tribe: Tribe
) -> OutboxActivity | None:
    """``Undo{Block}``: lift the tribe's block of the person or domain it names."""
    ident = id_of(original.get("object"))
    if not ident:
        return None
    block = await db.scalar(
        select(TribeBlock).where(
            TribeBlock.tribe_id == tribe.id,
            (TribeBlock.actor_ap_id == ident) | (TribeBlock.domain == ident.lower()),
        )
    )
    if block is None:
        raise NotFound("There is no such block.")
    before = await mark(db)
    await tribe_moderation.unblock(db, state.settings, tribe, owner, block.id)
    return await result(
        db, state.settings, before, owner, "Undo", original, on_behalf=tribe.actor
    )


def _about_moderators(document: dict[str, Any]) -> bool:
    return any(t.endswith("/moderators") for t in named_ids(document.get("target")))


async def _set_role(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any], tribe: Tribe,
    role: str,
) -> OutboxActivity:
    """Lemmy's ``Add``/``Remove`` of a person to/from the moderators collection: the role
    select of the members page."""
    ident = id_of(document.get("object"))
    person = await db.scalar(select(Actor).where(Actor.ap_id == ident)) if ident else None
    if person is None:
        raise NotFound("This person is not a member of the tribe.")
    before = await mark(db)
    await tribe_members.set_role(db, state.settings, tribe, owner, person, role)
    return await result(
        db, state.settings, before, owner, str(document.get("type")), person.ap_id,
        on_behalf=tribe.actor, target=f"{tribe.actor.ap_id}/moderators",
    )


async def _remove(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any], tribe: Tribe
) -> OutboxActivity:
    ident = id_of(document.get("object"))
    if not ident:
        raise BadActivity("Remove needs the post or the member in object")
    if _about_moderators(document):
        return await _set_role(db, state, owner, document, tribe, "member")
    before = await mark(db)
    person = await db.scalar(select(Actor).where(Actor.ap_id == ident))
    if person is not None and await membership(db, tribe, person) is not None:
        await tribe_members.remove_member(db, state.settings, tribe, owner, person)
    else:
        await tribe_distribution.remove_post(db, state, tribe, owner, ident)
    return await result(
        db, state.settings, before, owner, "Remove", ident, on_behalf=tribe.actor,
        target=tribe.actor.ap_id,
    )


async def _flag(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any],
    tribe: Tribe | None,
) -> OutboxActivity:
    targets = named_ids(document.get("object"))
    if not targets or not all(t.startswith(("https://", "http://")) for t in targets):
        raise BadActivity("Flag needs the ids of the posts or people reported in object")
    if tribe is not None:
        # As the report button: only a post the tribe carries can be reported to it.
        for ident in targets:
            person = await db.scalar(select(Actor.id).where(Actor.ap_id == ident))
            if person is None and await tribe_distribution.find_post(db, tribe, ident) is None:
                raise NotFound("This post does not exist (any more).")
    before = await mark(db)
    report = await tribe_moderation.file_report(
        db, state.settings, owner, target_ap_ids=targets,
        comment=text_of(document, required=False), tribe=tribe,
    )
    row = await result(db, state.settings, before, owner, "Flag", targets)
    if report.activity_ap_id is None:
        # The Flag's id names the report, for ``Accept{Flag}`` (``outbox_reports``).
        report.activity_ap_id = row.ap_id
        await db.flush()
    return row


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Perform a client's moderation activity; None when it is not one."""
    kind = document.get("type")
    if kind not in ("Block", "Remove", "Flag", "Add"):
        return None
    if kind == "Add" and not _about_moderators(document):
        return None
    tribe = await tribe_of(db, document)
    if kind == "Flag":
        return await _flag(db, state, owner, document, tribe)
    if tribe is None:
        raise BadActivity("name the tribe in target (there are no personal blocks)")
    if kind == "Block":
        return await _block(db, state, owner, document, tribe)
    if kind == "Add":
        return await _set_role(db, state, owner, document, tribe, "moderator")
    return await _remove(db, state, owner, document, tribe)
