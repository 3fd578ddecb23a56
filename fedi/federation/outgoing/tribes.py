"""Hooks called after every change to a tribe, and the tribe's own history.

The tribe services call these hooks *after* a change is flushed, inside the same
transaction, so whatever a hook writes (outgoing activities, delivery rows) commits or
rolls back together with the change. They are the tribe's federation: ``Accept``/``Reject``
of the Follow or Join that asked, ``Invite`` to remote invitees, ``Add``/``Remove`` on the
moderators collection (announced), ``Update{Group}`` and the announce of approved held
posts. A member who came in over ActivityPub (a Follow or Join, or a remote person who
accepted an Invite) is also a follower of the Group actor (a ``Follow`` row), so the tribe's
announces reach them; people who join on the web are members without following (members and
followers are separate numbers on the tribe pages). A hook must not raise for an ordinary
change: that would undo the change.

``record_event`` writes the history shown on ``/tribes/<slug>/activity``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import AS_CONTEXT, PUBLIC
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.settings import Settings
from models import (
    Actor,
    ApObject,
    Follow,
    HeldPost,
    Report,
    Tribe,
    TribeBlock,
    TribeEvent,
    TribeInvite,
    TribeMember,
    utcnow,
)

# The ``change`` values passed to ``membership_changed``:
#   "joined"    an active member now (open tribe, accepted invitation, valid link token)
#   "requested" a pending request in an approval tribe (Follow/Join waits for admins)
#   "approved"  an admin or moderator approved a pending request (send Accept)
#   "rejected"  a pending request was refused (send Reject); the row is already deleted
#   "invited"   an invitation for this actor (send Invite to a remote person)
#   "declined"  the invited person said no; the row is already deleted
#   "left"      the member left (Undo{Follow}/Leave came in, or the web button)
#   "removed"   an admin or moderator removed them, or a block did; the row is deleted
MEMBERSHIP_CHANGES = (
    "joined", "requested", "approved", "rejected", "invited", "declined", "left", "removed",
)


def _followers(tribe: Tribe) -> str:
    return tribe.actor.followers_url or f"{tribe.actor.ap_id}/followers"


async def _set_follow(
    db: AsyncSession, tribe: Tribe, person_id: int, activity_id: str | None, accepted: bool
) -> None:
    """Make ``person_id`` a follower of the tribe's Group actor (pending or accepted)."""
    row = await db.scalar(
        select(Follow).where(
            Follow.follower_id == person_id, Follow.followed_id == tribe.actor_id
        )
    )
    if row is None:
        row = Follow(
            follower_id=person_id, followed_id=tribe.actor_id,
            activity_ap_id=activity_id or f"{tribe.actor.ap_id}#member-{person_id}",
        )
        db.add(row)
    elif activity_id:
        row.activity_ap_id = activity_id
    if accepted and not row.accepted:
        row.accepted = True
        row.accepted_at = utcnow()
    await db.flush()


async def _drop_follow(db: AsyncSession, tribe: Tribe, person_id: int) -> None:
    row = await db.scalar(
        select(Follow).where(
            Follow.follower_id == person_id, Follow.followed_id == tribe.actor_id
        )
    )
    if row is not None:
        await db.delete(row)
        await db.flush()


async def _answer_request(
    db: AsyncSession, settings: Settings, tribe: Tribe, person: Actor,
    activity_id: str | None, kind: str,
) -> None:
    """Accept or Reject the Follow/Join ``activity_id`` that ``person`` sent, if any."""
    from fedi.federation.incoming.tribes import answer, original_activity

    original = await original_activity(db, activity_id)
    if original is None or original.get("type") not in ("Follow", "Join"):
        return  # joined on the web, by a link, or by accepting our Invite: nothing to answer
    await answer(db, settings, tribe, person, kind, original)


async def _asked_over_activitypub(db: AsyncSession, activity_id: str | None) -> bool:
    from fedi.federation.incoming.tribes import original_activity

    original = await original_activity(db, activity_id)
    return original is not None and original.get("type") in ("Follow", "Join")


async def tribe_created(db: AsyncSession, settings: Settings, tribe: Tribe) -> None:
    """A tribe was created (its creator is its first admin already); nothing to send."""


async def tribe_updated(db: AsyncSession, settings: Settings, tribe: Tribe) -> None:
    """A tribe's fields or join mode changed: send ``Update{Group}`` to its followers."""
    from fedi.federation.documents.groups import group_document

    group = tribe.actor
    document = group_document(settings, tribe)
    document.pop("@context", None)
    update: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": new_activity_id(settings, "update"),
        "type": "Update",
        "actor": group.ap_id,
        "object": document,
        "to": [PUBLIC],
        "cc": [_followers(tribe)],
    }
    await publish(db, settings, group, update)


async def membership_changed(
    db: AsyncSession, settings: Settings, tribe: Tribe, member: TribeMember, change: str
) -> None:
    """A membership changed; ``change`` is one of ``MEMBERSHIP_CHANGES``.

    For "rejected", "declined", "left" and "removed" the row has been deleted from the
    session already; its attributes (``actor_id``, ``actor``, ``activity_ap_id``, ``role``)
    are still readable, so the hook can answer the original Follow/Join.

    Federation: joined/approved -> the person follows the Group and their Follow or Join is
    answered with ``Accept``; requested -> a pending follow; rejected -> ``Reject``;
    removed -> ``Reject`` too (how Mastodon removes a follower); left/declined -> the follow
    ends; invited -> ``Invite{object: tribe, target: person}`` to a remote person.
    """
    person = await db.get(Actor, member.actor_id)
    if person is None:
        return
    follows = not person.local or await _asked_over_activitypub(db, member.activity_ap_id)
    if change in ("joined", "approved"):
        if follows:
            await _set_follow(db, tribe, person.id, member.activity_ap_id, accepted=True)
        await _answer_request(db, settings, tribe, person, member.activity_ap_id, "Accept")
    elif change == "requested":
        if follows:
            await _set_follow(db, tribe, person.id, member.activity_ap_id, accepted=False)
    elif change in ("rejected", "removed"):
        await _drop_follow(db, tribe, person.id)
        await _answer_request(db, settings, tribe, person, member.activity_ap_id, "Reject")
    elif change in ("left", "declined"):
        await _drop_follow(db, tribe, person.id)
    elif change == "invited" and not person.local:
        group = tribe.actor
        invite_id = new_activity_id(settings, "invite")
        invite: dict[str, Any] = {
            "@context": AS_CONTEXT,
            "id": invite_id,
            "type": "Invite",
            "actor": group.ap_id,
            "object": group.ap_id,
            "target": person.ap_id,
            "to": [person.ap_id],
        }
        member.activity_ap_id = invite_id
        await db.flush()
        await publish(db, settings, group, invite)


async def role_changed(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    member: TribeMember,
    old_role: str,
    new_role: str,
) -> None:
    """A member's role changed: ``Add``/``Remove`` on the moderators collection, announced.

    Only a change across the member/moderator line changes the collection (admins and
    the core team are both in it, as Lemmy's moderators are).
    """
    from fedi.federation.outgoing.tribe_distribution import distribute

    was_mod, is_mod = old_role != "member", new_role != "member"
    if was_mod == is_mod:
        return
    person = await db.get(Actor, member.actor_id)
    if person is None:
        return
    group = tribe.actor
    activity: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": new_activity_id(settings, "add" if is_mod else "remove"),
        "type": "Add" if is_mod else "Remove",
        "actor": group.ap_id,
        "object": person.ap_id,
        "target": f"{group.ap_id}/moderators",
        "to": [PUBLIC],
        "audience": group.ap_id,
    }
    # Stored (and fetchable by id) without recipients of its own; the followers get it
    # wrapped in the tribe's Announce, the way Lemmy communities send mod changes.
    await publish(db, settings, group, activity)
    await distribute(db, settings, tribe, activity, boost=False)


async def invite_created(
    db: AsyncSession, settings: Settings, tribe: Tribe, invite: TribeInvite
) -> None:
    """An invitation (link, e-mail or actor) was created."""


async def actor_blocked(
    db: AsyncSession, settings: Settings, tribe: Tribe, block: TribeBlock
) -> None:
    """A person or domain was blocked for the tribe (their memberships are gone already)."""


async def held_post_decided(
    db: AsyncSession, settings: Settings, tribe: Tribe, held: HeldPost
) -> None:
    """A moderator approved (then the tribe distributes it) or rejected a held post."""
    from fedi.federation.incoming.tribes import accept_post

    if held.state != "approved" or not held.object_ap_id:
        return
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == held.object_ap_id))
    author = await db.get(Actor, held.actor_id)
    if obj is None or author is None or obj.deleted_at is not None:
        return
    root = None
    if obj.in_reply_to:
        posts = [
            p for p in await thread_of_local(db, obj.in_reply_to) if p.tribe_id == tribe.id
        ]
        root = posts[0].root_ap_id if posts else None
    await accept_post(db, settings, tribe, author, held.payload, obj, root=root, approved=True)


async def thread_of_local(db: AsyncSession, in_reply_to: str) -> list[Any]:
    """The tribe posts a reply's parent belongs to, from what we have (no fetching)."""
    from models import TribePost

    current: str | None = in_reply_to
    for _step in range(8):
        if not current:
            break
        posts = list(
            (await db.scalars(select(TribePost).where(TribePost.object_ap_id == current)))
            .unique().all()
        )
        if posts:
            return posts
        parent = await db.scalar(select(ApObject).where(ApObject.ap_id == current))
        current = parent.in_reply_to if parent is not None else None
    return []


async def report_filed(db: AsyncSession, settings: Settings, report: Report) -> None:
    """A report was filed (locally or by an incoming ``Flag``)."""


async def record_event(
    db: AsyncSession,
    tribe: Tribe,
    kind: str,
    *,
    subject_id: int | None = None,
    by_id: int | None = None,
    detail: str = "",
) -> TribeEvent:
    """Add one entry to the tribe's history."""
    event = TribeEvent(
        tribe_id=tribe.id, kind=kind, subject_id=subject_id, by_id=by_id, detail=detail[:255]
    )
    db.add(event)
    await db.flush()
    return event
