"""Client-to-server tribes: creating and editing one, joining, leaving and inviting.

Posted to the person's own outbox (or, for what an admin does as the tribe, to the tribe's
outbox: ``fedi.http.ap.outbox_group``), carried out by the services behind the tribe pages:

=====================================================  ===================================
posted                                                 service
=====================================================  ===================================
``Create{Group}`` (``preferredUsername`` = the slug)   ``tribes.create_tribe`` (who may:
                                                       ``tribes.may_create_tribe``)
``Update{Group}`` (the terms present change)           ``tribes.update_tribe`` (admins)
``Join`` of a Group (``content``: a message)           ``tribe_members.join``; a tribe on
                                                       another server: ``follows.follow``
``Leave`` of a Group                                   ``tribe_members.leave``; elsewhere:
                                                       ``follows.unfollow``
``Invite`` (``object`` a person, ``target`` the        ``tribe_invites.invite_actor``
tribe)                                                 (admins)
``Accept``/``Reject`` of an ``Invite`` (the invited)   ``tribe_members.join`` / ``leave``
``Accept``/``Reject`` of a ``Join`` (an admin)         ``approve_request`` /
                                                       ``reject_request``
``Accept``/``Reject`` of a held post (the held         ``tribe_moderation.decide_held_post``
``Create``'s id; admins, moderators)
=====================================================  ===================================

The Group's terms are the ones its document carries (``fedi.federation.documents.groups``):
``name``, ``summary`` or ``source`` (the description), ``tag``, ``location``, and our
``joinMode``, ``theme``, ``language``, ``initiativePolicy``, ``budgetAvailable``,
``targetArea`` (with or without the ``pu:`` prefix).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, id_of
from fedi.domain import follows, tribe_invites, tribe_members, tribe_moderation, tribes
from fedi.domain.errors import Forbidden, NotFound
from fedi.domain.remote_tribes import ensure_remote_tribe
from fedi.domain.tribe_access import membership
from fedi.http.ap import outbox_media
from fedi.http.ap.outbox_common import (
    BadActivity,
    mark,
    named_ids,
    resolve_actor,
    result,
    text_of,
)
from fedi.state import AppState
from models import Actor, HeldPost, OutboxActivity, Tribe, TribeMember, User

__all__ = ["group_values", "perform", "tribe_named"]

# Group term -> tribe field (``pu:`` prefixed or not).
_TERMS = {
    "joinMode": "join_mode",
    "theme": "theme",
    "language": "language",
    "initiativePolicy": "initiative_policy",
    "budgetAvailable": "budget_available",
    "targetArea": "target_area",
}


def _is_group(value: Any) -> bool:
    return isinstance(value, dict) and "Group" in as_list(value.get("type"))


def group_values(group: dict[str, Any]) -> dict[str, Any]:
    """Tribe fields from the terms present in a client's ``Group``."""
    values: dict[str, Any] = {}
    if isinstance(group.get("name"), str):
        values["name"] = group["name"]
    if "source" in group or "summary" in group or "content" in group:
        source = group.get("source")
        if isinstance(source, dict | str):
            values["description"] = text_of(group, required=False)
        else:
            summary = group.get("summary")
            values["description"] = text_of({"content": summary}, required=False) if isinstance(
                summary, str
            ) else ""
    if "tag" in group:
        values["tags"] = [
            str(tag.get("name", "")).lstrip("#") if isinstance(tag, dict) else str(tag)
            for tag in as_list(group.get("tag"))
        ]
    location = group.get("location")
    if isinstance(location, dict) and isinstance(location.get("name"), str):
        values["location"] = location["name"]
    elif isinstance(location, str):
        values["location"] = location
    for term, field in _TERMS.items():
        for key in (term, f"pu:{term}"):
            if key in group:
                values[field] = group[key]
    if isinstance(values.get("budget_available"), int | float):
        values["budget_available"] = str(values["budget_available"])
    return values


async def tribe_named(
    db: AsyncSession, reference: Any, *, remote_row: bool = False
) -> Tribe | None:
    """The tribe (ours or our row of a remote one) whose Group id is ``reference``; with
    ``remote_row`` a known remote Group gets its tribe row here (as the join button's
    page does, ``remote_tribes.ensure_remote_tribe``)."""
    ref = id_of(reference)
    if not ref:
        return None
    group = await db.scalar(select(Actor).where(Actor.ap_id == ref, Actor.type == "Group"))
    if group is None:
        return None
    found = await tribes.find_tribe_by_actor(db, group)
    if found is None and remote_row and not group.local:
        found = await ensure_remote_tribe(db, group)
    return found


async def _user_of(db: AsyncSession, owner: Actor) -> User | None:
    return await db.scalar(select(User).where(User.actor_id == owner.id))


async def _create_group(
    db: AsyncSession, state: AppState, owner: Actor, group: dict[str, Any]
) -> OutboxActivity:
    if not await tribes.may_create_tribe(db, await _user_of(db, owner)):
        raise Forbidden("You may not create tribes on this server.")
    slug = group.get("preferredUsername") or group.get("slug")
    if not isinstance(slug, str) or not slug.strip():
        raise BadActivity("a Group needs its preferredUsername (the tribe's short name)")
    values = group_values(group)
    if not values.get("name"):
        values["name"] = slug
    before = await mark(db)
    tribe = await tribes.create_tribe(db, state.settings, owner, slug=slug.strip(), **values)
    await _set_group_image(db, state, owner, tribe, group)
    return await result(
        db, state.settings, before, owner, "Create", tribe.actor.ap_id, on_behalf=tribe.actor
    )


async def update_group(
    db: AsyncSession, state: AppState, owner: Actor, group: dict[str, Any],
    tribe: Tribe | None = None,
) -> OutboxActivity:
    """``Update{Group}``: an admin edits the tribe (the Group's ``id`` or ``tribe``)."""
    tribe = tribe or await tribe_named(db, group.get("id"))
    if tribe is None or not tribe.actor.local:
        raise NotFound("This tribe does not exist.")
    before = await mark(db)
    await tribes.update_tribe(db, state.settings, tribe, owner, **group_values(group))
    await _set_group_image(db, state, owner, tribe, group)
    return await result(
        db, state.settings, before, owner, "Update", tribe.actor.ap_id, on_behalf=tribe.actor
    )


async def _set_group_image(
    db: AsyncSession, state: AppState, owner: Actor, tribe: Tribe, group: dict[str, Any]
) -> None:
    """A Group's ``icon`` (or ``image``) naming one's upload (``outbox_media``): the tribe
    form's picture, through ``tribes.set_tribe_image`` (admins)."""
    picture = group.get("icon", group.get("image"))
    if picture is None:
        return
    data = await outbox_media.own_upload_bytes(db, state.settings, owner, picture)
    if data is not None:
        await tribes.set_tribe_image(db, state.settings, tribe, owner, data)


async def _join_or_leave(
    db: AsyncSession, state: AppState, owner: Actor, kind: str, tribe: Tribe,
    document: dict[str, Any],
) -> OutboxActivity:
    """The tribe page's join and leave buttons: a local tribe's membership service, a
    remote tribe's ``Follow`` (FEP-1b12) or its ``Undo``."""
    before = await mark(db)
    settings = state.settings
    if not tribe.actor.local:
        if kind == "Join":
            await follows.follow(db, state, owner, tribe.actor)
            return await result(db, settings, before, owner, "Follow", tribe.actor.ap_id)
        await follows.unfollow(db, state, owner, tribe.actor)
        return await result(db, settings, before, owner, "Undo", tribe.actor.ap_id)
    if kind == "Join":
        await tribe_members.join(
            db, settings, tribe, owner, message=text_of(document, required=False)
        )
    else:
        await tribe_members.leave(db, settings, tribe, owner)
    return await result(
        db, settings, before, owner, kind, tribe.actor.ap_id, on_behalf=tribe.actor
    )


async def invite(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any],
    tribe: Tribe | None = None,
) -> OutboxActivity:
    """``Invite{object: person, target: tribe}`` by an admin of the tribe."""
    tribe = tribe or await tribe_named(db, document.get("target") or document.get("audience"))
    if tribe is None or not tribe.actor.local:
        raise BadActivity("name the tribe in target")
    people = named_ids(document.get("object"))
    if not people:
        raise BadActivity("Invite needs the person in object")
    before = await mark(db)
    for ident in people:
        target = await resolve_actor(db, state, ident)
        await tribe_invites.invite_actor(db, state.settings, tribe, owner, target)
    return await result(
        db, state.settings, before, owner, "Invite", people[0], on_behalf=tribe.actor,
        target=tribe.actor.ap_id,
    )


async def _membership_named(
    db: AsyncSession, reference: Any
) -> tuple[Tribe, TribeMember] | None:
    """The membership an Accept/Reject names: the Join's (or Invite's) id, or an embedded
    ``Join`` (``actor`` + the Group) or ``Invite`` (``object`` the person, ``target`` the
    Group)."""
    ref = id_of(reference)
    if ref:
        row = await db.scalar(select(TribeMember).where(TribeMember.activity_ap_id == ref))
        if row is not None:
            tribe = await db.get(Tribe, row.tribe_id)
            if tribe is not None:
                return tribe, row
    if not isinstance(reference, dict):
        return None
    if reference.get("type") == "Join":
        tribe = await tribe_named(db, reference.get("object"))
        person = id_of(reference.get("actor"))
    elif reference.get("type") == "Invite":
        tribe = await tribe_named(db, reference.get("target"))
        person = id_of(reference.get("object"))
    else:
        return None
    who = await db.scalar(select(Actor).where(Actor.ap_id == person)) if person else None
    if tribe is None or who is None:
        return None
    row = await membership(db, tribe, who)
    return (tribe, row) if row is not None else None


async def answer(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Accept/Reject of an invitation (by the invited person) or of a join request (by an
    admin); None when the object is neither."""
    accept = document.get("type") == "Accept"
    settings = state.settings
    found = await _membership_named(db, document.get("object"))
    if found is None:
        return await _decide_held(db, state, owner, document, accept)
    tribe, row = found
    before = await mark(db)
    if row.actor_id == owner.id:
        if row.state != "invited":
            raise BadActivity("There is no invitation to answer.")
        if accept:
            await tribe_members.join(db, settings, tribe, owner)
        else:
            await tribe_members.leave(db, settings, tribe, owner)
    else:
        person = await db.get(Actor, row.actor_id)
        if person is None:
            raise NotFound("There is no such request.")
        if accept:
            await tribe_members.approve_request(db, settings, tribe, owner, person)
        else:
            await tribe_members.reject_request(db, settings, tribe, owner, person)
    return await result(
        db, settings, before, owner, str(document.get("type")), id_of(document.get("object")),
        on_behalf=tribe.actor,
    )


async def _decide_held(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any], accept: bool
) -> OutboxActivity | None:
    """Accept/Reject of a post the tribe holds for approval (the held ``Create``'s id, or
    the embedded activity): the moderation page's approve and reject buttons."""
    ref = id_of(document.get("object"))
    if not ref:
        return None
    held = await db.scalar(
        select(HeldPost).where(HeldPost.activity_ap_id == ref).order_by(HeldPost.id.desc())
    )
    if held is None:
        return None
    tribe = await db.get(Tribe, held.tribe_id)
    if tribe is None:
        return None
    before = await mark(db)
    await tribe_moderation.decide_held_post(db, state.settings, tribe, owner, held.id, accept)
    return await result(
        db, state.settings, before, owner, str(document.get("type")), ref,
        on_behalf=tribe.actor,
    )


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Perform a client's activity about a tribe; None when it is not about one."""
    kind = document.get("type")
    obj = document.get("object")
    if kind == "Create" and _is_group(obj):
        assert isinstance(obj, dict)
        return await _create_group(db, state, owner, obj)
    if kind == "Update" and _is_group(obj):
        assert isinstance(obj, dict)
        return await update_group(db, state, owner, obj)
    if kind in ("Join", "Leave"):
        tribe = await tribe_named(db, obj, remote_row=True)
        if tribe is None:
            return None
        return await _join_or_leave(db, state, owner, str(kind), tribe, document)
    if kind == "Invite":
        return await invite(db, state, owner, document)
    if kind in ("Accept", "Reject"):
        return await answer(db, state, owner, document)
    return None
