"""What a tribe does with activities from its members and others (the FEP-1b12 rules).

Called by the inbound note, follow and reaction receivers once they have done their own
part (stored the note, recorded the like), and by the inbound handlers for the group-only
types (Join, Leave, Accept/Reject of an Invite, Flag, Remove, Block). Which posts a tribe
takes is the domain's rule (``fedi.domain.tribe_posts``), shared with notes written here:

* a post addressed to a tribe (``to``/``cc``/``audience``, or a ``Mention`` tag, the way
  Mastodon addresses a group) becomes a tribe post when its author is an active member, or
  anyone in an open tribe; from others in a closed tribe it is held for moderators;
* a reply is routed by walking ``inReplyTo`` up to a tribe post, because Mastodon delivers a
  reply only to the author of what it answers, never to the group;
* likes, edits and deletions of tribe posts are announced too;
* blocked people and domains are refused everywhere.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_accept, build_reject
from activitypub.vocab import AS_CONTEXT, as_list, id_of
from fedi.domain import tribe_members, tribe_moderation
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.tribe_access import is_blocked, membership, role_at_least, role_of
from fedi.domain.tribe_posts import VISIBLE, addressed_ids, take_post, tribes_by_actor_ids
from fedi.federation.incoming.posts import get_or_fetch_object
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.outgoing.tribe_distribution import distribute, remove_post
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor
from fedi.federation.remote.threads import walk_in_reply_to
from fedi.settings import Settings
from fedi.state import AppState
from models import Actor, ApObject, InboxItem, Tribe, TribeMember, TribePost

log = logging.getLogger(__name__)



# ------------------------------------------------------------------ finding the tribe


async def tribe_by_actor_id(db: AsyncSession, ap_id: str | None) -> Tribe | None:
    """The local tribe whose Group actor id (or outbox/moderators URL) is ``ap_id``."""
    if not ap_id:
        return None
    for suffix in ("/outbox", "/moderators", "/members", "/followers"):
        if ap_id.endswith(suffix):
            ap_id = ap_id[: -len(suffix)]
            break
    found = await tribes_by_actor_ids(db, {ap_id})
    return found[0] if found else None


async def thread_of(db: AsyncSession, state: AppState, in_reply_to: str) -> list[TribePost]:
    """The tribe posts that the thread ending at ``in_reply_to`` belongs to.

    Walks ``inReplyTo`` up (``walk_in_reply_to``), fetching parents we do not know
    from their origin (a Mastodon reply often answers a reply we never saw). A note written
    here is routed by ``fedi.domain.tribe_posts`` instead, among the objects we have.
    """

    async def posts_at(current: str) -> list[TribePost] | None:
        posts = list(
            (
                await db.scalars(
                    select(TribePost).where(
                        TribePost.object_ap_id == current, TribePost.state == "active"
                    )
                )
            ).unique().all()
        )
        return posts or None

    async def parent_of(current: str) -> str | None:
        try:
            parent = await get_or_fetch_object(db, state, current)
        except NotFound:
            return None
        return parent.in_reply_to

    return await walk_in_reply_to(in_reply_to, posts_at, parent_of) or []


# ------------------------------------------------------------------ posts


async def route_post(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any], obj: ApObject
) -> list[TribePost]:
    """Make a just-received post part of every tribe it belongs to.

    Top-level posts addressed to a tribe are distributed and boosted; replies (addressed to
    the tribe, or found by walking ``inReplyTo``) are distributed without a boost. Only
    public and unlisted posts are announced: a group must not leak a private post.
    """
    settings = state.settings
    if obj.visibility not in VISIBLE or obj.deleted_at is not None:
        return []
    if obj.attributed_to_id != sender.id:
        return []
    doc = obj.payload or {}
    targets: dict[int, tuple[Tribe, str | None]] = {}
    ours = {i for i in addressed_ids(activity, doc) if settings.is_local_id(i)}
    for tribe in await tribes_by_actor_ids(db, ours):
        targets[tribe.id] = (tribe, None)
    if obj.in_reply_to:
        for parent in await thread_of(db, state, obj.in_reply_to):
            thread_tribe = await db.get(Tribe, parent.tribe_id)
            if thread_tribe is not None:
                targets[thread_tribe.id] = (thread_tribe, parent.root_ap_id)
    accepted: list[TribePost] = []
    for target, root in targets.values():
        post = await accept_post(db, settings, target, sender, activity, obj, root=root)
        if post is not None:
            accepted.append(post)
    return accepted


async def accept_post(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    sender: Actor,
    activity: dict[str, Any],
    obj: ApObject,
    *,
    root: str | None = None,
    approved: bool = False,
) -> TribePost | None:
    """Record one post in ``tribe`` (the tribe then announces it), or hold it; ``approved``
    skips that. The rules are the domain's (``tribe_posts.take_post``)."""
    return await take_post(
        db, settings, tribe, sender, activity, obj, root=root, approved=approved
    )


async def route_object_activity(
    db: AsyncSession,
    settings: Settings,
    sender: Actor,
    activity: dict[str, Any],
    object_ap_id: str,
) -> int:
    """Announce an Update, Delete, Like, Dislike or Undo about a tribe post.

    Returns how many tribes announced it. A Delete also marks the post deleted.
    """
    if not id_of(activity.get("id")) or not object_ap_id:
        return 0
    posts = (
        await db.scalars(
            select(TribePost).where(
                TribePost.object_ap_id == object_ap_id, TribePost.state.in_(("active",))
            )
        )
    ).unique().all()
    count = 0
    kind = activity.get("type")
    for post in posts:
        tribe = await db.get(Tribe, post.tribe_id)
        if tribe is None or await is_blocked(db, tribe, sender):
            continue
        if kind in ("Update", "Delete") and post.author_id != sender.id:
            continue
        if kind in ("Like", "Dislike", "Undo") and tribe.join_mode != "open":
            if await role_of(db, tribe, sender) is None:
                continue
        await distribute(db, settings, tribe, activity, boost=False)
        if kind == "Delete":
            post.state = "deleted"
        count += 1
    await db.flush()
    return count


# ------------------------------------------------------------------ membership


async def original_activity(db: AsyncSession, ap_id: str | None) -> dict[str, Any] | None:
    """The activity with ``ap_id`` as we received it (for embedding in Accept/Reject)."""
    if not ap_id:
        return None
    item = await db.scalar(select(InboxItem).where(InboxItem.ap_id == ap_id))
    if item is None:
        return None
    return {k: v for k, v in item.payload.items() if k != "@context"}


async def answer(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    person: Actor,
    kind: str,
    original: dict[str, Any],
) -> None:
    """Send ``Accept`` or ``Reject`` of ``original`` (a Follow or Join) to ``person``.

    The original is embedded as received: Mastodon matches it by id, Lemmy and Mobilizon
    read its actor and object.
    """
    group = tribe.actor
    build = build_reject if kind == "Reject" else build_accept
    doc = build(new_activity_id(settings, kind.lower()), group.ap_id, original)
    doc["@context"] = AS_CONTEXT
    doc["to"] = [person.ap_id]
    await publish(db, settings, group, doc)


async def receive_tribe_follow(
    db: AsyncSession, state: AppState, tribe: Tribe, follower: Actor, activity: dict[str, Any]
) -> TribeMember | None:
    """A Follow or Join of a tribe: join it per its join mode (the hooks answer).

    Refused people (blocked, or uninvited in an invite-only tribe) get a ``Reject`` at once.
    """
    activity_id = id_of(activity.get("id"))
    try:
        return await tribe_members.join(
            db, state.settings, tribe, follower, activity_id=activity_id
        )
    except (Forbidden, Conflict) as exc:
        log.info("%s refused in %s: %s", follower.ap_id, tribe.slug, exc.message)
        original = {k: v for k, v in activity.items() if k != "@context"}
        await answer(db, state.settings, tribe, follower, "Reject", original)
        return None


async def receive_tribe_leave(
    db: AsyncSession, state: AppState, tribe: Tribe, person: Actor
) -> bool:
    """An Undo{Follow} or Leave: the person leaves (the last admin cannot; ignored)."""
    try:
        await tribe_members.leave(db, state.settings, tribe, person)
    except (NotFound, Conflict) as exc:
        log.info("leave of %s from %s ignored: %s", person.ap_id, tribe.slug, exc.message)
        return False
    return True


async def invite_of(db: AsyncSession, reference: Any) -> tuple[Tribe, TribeMember] | None:
    """The tribe and invited membership an Accept/Reject of our ``Invite`` refers to."""
    ref_id = id_of(reference)
    if not ref_id:
        return None
    member = await db.scalar(
        select(TribeMember).where(
            TribeMember.activity_ap_id == ref_id, TribeMember.state == "invited"
        )
    )
    if member is None:
        return None
    tribe = await db.get(Tribe, member.tribe_id)
    return (tribe, member) if tribe is not None else None


async def receive_invite_answer(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Accept{Invite}`` joins the tribe; ``Reject{Invite}`` declines (Mobilizon's way)."""
    found = await invite_of(db, activity.get("object"))
    if found is None:
        return False
    tribe, member = found
    if member.actor_id != sender.id:
        return False
    if activity.get("type") == "Accept":
        await tribe_members.join(db, state.settings, tribe, sender)
    else:
        await tribe_members.leave(db, state.settings, tribe, sender)
    return True


# ------------------------------------------------------------------ moderation from outside


async def receive_flag(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """A remote ``Flag`` about a tribe, a tribe post or a person: store it as a report.

    Mastodon sends ``object`` as a list of the reported account and posts (its ``actor`` is
    the reporting instance's actor) with the comment in ``content``; Lemmy sends one post and
    the reason in ``summary`` with the community in ``to``/``audience``.
    """

    targets = [t for t in (id_of(o) for o in as_list(activity.get("object"))) if t]
    if not targets:
        return False
    tribes = await tribes_by_actor_ids(db, addressed_ids(activity) | set(targets))
    if not tribes:
        posts = (
            await db.scalars(select(TribePost).where(TribePost.object_ap_id.in_(targets)))
        ).unique().all()
        tribes = [t for t in [await db.get(Tribe, p.tribe_id) for p in posts] if t]
    comment = activity.get("content") or activity.get("summary") or ""
    comment = str(comment)[:5000] if isinstance(comment, str) else ""
    activity_id = id_of(activity.get("id"))
    try:
        await tribe_moderation.file_report(
            db, state.settings, sender, target_ap_ids=targets, comment=comment,
            tribe=tribes[0] if tribes else None, activity_id=activity_id,
        )
    except ServiceError:
        return False
    return True


async def _moderator_tribe(
    db: AsyncSession, sender: Actor, target: str | None
) -> Tribe | None:
    tribe = await tribe_by_actor_id(db, target)
    if tribe is None:
        return None
    return tribe if role_at_least(await role_of(db, tribe, sender), "moderator") else None


async def receive_remove(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """``Remove{object, target: tribe}`` from one of the tribe's (remote) moderators."""

    target = id_of(activity.get("target")) or next(
        iter(sorted(addressed_ids(activity))), None
    )
    tribe = await _moderator_tribe(db, sender, target)
    object_id = id_of(activity.get("object"))
    if tribe is None or not object_id:
        return False
    try:
        await remove_post(db, state, tribe, sender, object_id)
    except ServiceError:
        return False
    return True


async def receive_moderator_delete(
    db: AsyncSession, state: AppState, sender: Actor, object_id: str
) -> bool:
    """A ``Delete`` of someone else's tribe post by one of that tribe's moderators (Lemmy's
    way of removing a post): remove it from every such tribe."""

    done = False
    posts = (
        await db.scalars(
            select(TribePost).where(
                TribePost.object_ap_id == object_id, TribePost.state == "active"
            )
        )
    ).unique().all()
    for post in posts:
        tribe = await db.get(Tribe, post.tribe_id)
        if tribe is None or not role_at_least(await role_of(db, tribe, sender), "moderator"):
            continue
        await remove_post(db, state, tribe, sender, object_id)
        done = True
    return done


async def receive_block(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> bool:
    """A ``Block``: of our tribe by a person (they leave it), or, from a tribe moderator,
    of a person in the tribe (Lemmy's community ban: ``target`` is the community)."""

    object_id = id_of(activity.get("object"))
    blocked_tribe = await tribe_by_actor_id(db, object_id)
    if blocked_tribe is not None:
        if await membership(db, blocked_tribe, sender) is not None:
            return await receive_tribe_leave(db, state, blocked_tribe, sender)
        return False
    tribe = await _moderator_tribe(db, sender, id_of(activity.get("target")))
    if tribe is None or not object_id:
        return False
    try:
        person = await get_or_fetch_actor(state, db, object_id)
        await tribe_moderation.block_actor(
            db, state.settings, tribe, sender, person, str(activity.get("summary") or "")[:900]
        )
    except (ActorUnavailable, ServiceError):
        return False
    return True
