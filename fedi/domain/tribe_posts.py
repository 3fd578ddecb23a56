"""Which posts a tribe takes: addressed to it, or replies in its threads, under its rules.

A post (a note written here, or one another server sent) addressed to a tribe (``to``,
``cc``, ``audience`` or a ``Mention`` tag, the way Mastodon addresses a group) becomes a
``TribePost`` when its author is an active member, or anyone in an open tribe; from others
in a closed tribe it is held for the moderators; blocked people are refused. A reply is
the tribe's when its ``inReplyTo`` chain reaches a tribe post. Taking a post emits
:class:`TribePostAccepted`; the federation layer then announces it to the tribe's
followers. This module does no network I/O: for a note written here the chain is walked
among the objects we have (the inbox handlers fetch unknown parents first).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from activitypub.vocab import as_list, id_of
from fedi.domain.errors import ServiceError
from fedi.domain.events import emit
from fedi.domain.events_tribes import TribePostAccepted
from fedi.domain.tribe_access import is_blocked, role_of
from fedi.settings import Settings
from models import Actor, ApObject, HeldPost, Tribe, TribePost

__all__ = [
    "MAX_THREAD_DEPTH",
    "VISIBLE",
    "addressed_ids",
    "find_post",
    "hold_post",
    "known_thread_posts",
    "may_post",
    "record_post",
    "take_local_note",
    "take_post",
    "tribes_by_actor_ids",
]

log = logging.getLogger(__name__)

ADDRESS_FIELDS = ("to", "cc", "audience")
# Only these are announced: a group must not leak a private post.
VISIBLE = ("public", "unlisted")
# How far up an inReplyTo chain we look for a tribe post.
MAX_THREAD_DEPTH = 8


def addressed_ids(*docs: dict[str, Any]) -> set[str]:
    """Every id in to/cc/audience and in Mention tags of the given documents."""
    out: set[str] = set()
    for doc in docs:
        for key in ADDRESS_FIELDS:
            for entry in as_list(doc.get(key)):
                ident = id_of(entry)
                if ident:
                    out.add(ident)
        for tag in as_list(doc.get("tag")):
            if isinstance(tag, dict) and tag.get("type") == "Mention":
                href = id_of(tag.get("href"))
                if href:
                    out.add(href)
    return out


async def tribes_by_actor_ids(db: AsyncSession, ids: set[str]) -> list[Tribe]:
    """The local tribes whose Group actor id is among ``ids``."""
    if not ids:
        return []
    rows = await db.scalars(_TRIBES_BY_ACTOR_IDS, {"ids": sorted(ids)})
    return list(rows.unique().all())


# Built once (the inbox asks for every post addressed to one of our ids).
_TRIBES_BY_ACTOR_IDS = (
    select(Tribe)
    .join(Actor, Actor.id == Tribe.actor_id)
    .where(
        Actor.local.is_(True), Actor.type == "Group",
        Actor.ap_id.in_(bindparam("ids", expanding=True)),
    )
    # A Group has no talents to show: not a second query for them.
    .options(defaultload(Tribe.actor).lazyload(Actor.talents))
)


async def may_post(db: AsyncSession, tribe: Tribe, author: Actor) -> str:
    """``accept``, ``hold`` or ``refuse`` for a post by ``author`` in ``tribe``."""
    if author.id == tribe.actor_id:
        return "refuse"
    if await is_blocked(db, tribe, author):
        return "refuse"
    if await role_of(db, tribe, author) is not None:
        return "accept"
    # Mastodon users join an open tribe by following it and post by mentioning it; a
    # mention from someone who has not followed is accepted too, as they would expect.
    return "accept" if tribe.join_mode == "open" else "hold"


async def find_post(db: AsyncSession, tribe: Tribe, object_ap_id: str) -> TribePost | None:
    """The tribe's record of ``object_ap_id`` (any state), or None."""
    return await db.scalar(_POST, {"tribe": tribe.id, "object": object_ap_id})


_POST = select(TribePost).where(
    TribePost.tribe_id == bindparam("tribe"), TribePost.object_ap_id == bindparam("object")
)


async def record_post(
    db: AsyncSession,
    tribe: Tribe,
    author: Actor,
    activity: dict[str, Any],
    obj: ApObject,
    *,
    root_ap_id: str | None = None,
) -> tuple[TribePost, bool]:
    """Mark ``obj`` as the tribe's (a post, or a reply in the thread ``root_ap_id``).

    Returns the row and whether it is new.
    """
    existing = await find_post(db, tribe, obj.ap_id)
    if existing is not None:
        return existing, False
    is_reply = bool(obj.in_reply_to)
    post = TribePost(
        tribe_id=tribe.id,
        object_ap_id=obj.ap_id,
        activity_ap_id=id_of(activity.get("id")) or obj.ap_id,
        author_id=author.id,
        object_type=obj.type[:32],
        is_reply=is_reply,
        root_ap_id=(root_ap_id or obj.ap_id) if is_reply else obj.ap_id,
    )
    post.author = author
    db.add(post)
    await db.flush()
    return post, True


async def hold_post(
    db: AsyncSession, tribe: Tribe, actor: Actor, activity: dict[str, Any]
) -> HeldPost:
    """Keep a post for the moderators (e.g. from a non-member of a closed tribe).

    Holding the same activity again returns the row already held (redeliveries).
    """
    activity_id = str(activity.get("id") or "")
    if not activity_id:
        raise ServiceError("The activity has no id.")
    held = await db.scalar(
        select(HeldPost).where(
            HeldPost.tribe_id == tribe.id, HeldPost.activity_ap_id == activity_id
        )
    )
    if held is not None:
        return held
    obj = activity.get("object")
    object_id = obj.get("id") if isinstance(obj, dict) else obj
    held = HeldPost(
        tribe_id=tribe.id, actor_id=actor.id, activity_ap_id=activity_id,
        object_ap_id=str(object_id) if isinstance(object_id, str) else None, payload=activity,
    )
    held.actor = actor
    db.add(held)
    await db.flush()
    return held


async def take_post(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    author: Actor,
    activity: dict[str, Any],
    obj: ApObject,
    *,
    root: str | None = None,
    approved: bool = False,
) -> TribePost | None:
    """Make ``obj`` (created by ``activity``) a post of ``tribe``, or hold it for the
    moderators (``approved`` skips that), or refuse it (None).

    A new tribe post emits :class:`TribePostAccepted` (the tribe then announces it).
    """
    decision = await may_post(db, tribe, author)
    if decision == "refuse":
        log.info("post %s refused by tribe %s", obj.ap_id, tribe.slug)
        return None
    if decision == "hold" and not approved:
        await hold_post(db, tribe, author, activity)
        return None
    post, new = await record_post(db, tribe, author, activity, obj, root_ap_id=root)
    if new:
        await emit(
            db, settings,
            TribePostAccepted(actor=author, tribe=tribe, post=post, activity=activity),
        )
    return post


async def known_thread_posts(db: AsyncSession, in_reply_to: str | None) -> list[TribePost]:
    """The active tribe posts the thread ending at ``in_reply_to`` belongs to, walking
    ``inReplyTo`` among the objects we have (no fetching)."""
    current = in_reply_to
    seen: set[str] = set()
    for _step in range(MAX_THREAD_DEPTH):
        if not current or current in seen:
            return []
        seen.add(current)
        posts = list(
            (
                await db.scalars(
                    select(TribePost).where(
                        TribePost.object_ap_id == current, TribePost.state == "active"
                    )
                )
            ).unique().all()
        )
        if posts:
            return posts
        parent = await db.scalar(select(ApObject).where(ApObject.ap_id == current))
        current = parent.in_reply_to if parent is not None else None
    return []


async def take_local_note(
    db: AsyncSession, settings: Settings, author: Actor, note: ApObject, activity_id: str
) -> list[TribePost]:
    """Let the local tribes a note written here is for take it (same rules as a remote
    member's post); ``activity_id`` is the note's ``Create``."""
    if note.visibility not in VISIBLE or note.deleted_at is not None:
        return []
    activity: dict[str, Any] = {
        "id": activity_id, "type": "Create", "actor": author.ap_id, "object": note.ap_id,
    }
    targets: dict[int, tuple[Tribe, str | None]] = {}
    ours = {i for i in addressed_ids(note.payload or {}) if settings.is_local_id(i)}
    for tribe in await tribes_by_actor_ids(db, ours):
        targets[tribe.id] = (tribe, None)
    for parent in await known_thread_posts(db, note.in_reply_to):
        thread_tribe = await db.get(Tribe, parent.tribe_id)
        if thread_tribe is not None:
            targets[thread_tribe.id] = (thread_tribe, parent.root_ap_id)
    taken: list[TribePost] = []
    for tribe, root in targets.values():
        post = await take_post(db, settings, tribe, author, activity, note, root=root)
        if post is not None:
            taken.append(post)
    return taken
