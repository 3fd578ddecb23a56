"""How a tribe distributes what it accepts (FEP-1b12), and how moderators take it back.

The tribe wraps every member activity it accepts, unchanged, in ``Announce`` to its
followers: Lemmy, Mobilizon and other group servers read the wrapped activity. Mastodon does
not understand ``Announce{Create}``, so for timeline-worthy objects (top-level posts,
initiatives) the tribe *also* announces the bare object id, which Mastodon shows as a boost.
Replies are never boosted on their own: Mastodon users complained about comment floods.

Every Announce is published through ``publish()`` (so it is in the tribe's outbox, newest
first) and remembered as a ``TribeAnnounce`` row, so removing a post can send
``Undo{Announce}`` for each one: that is what takes a boost off Mastodon timelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CompoundSelect, and_, bindparam, insert, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_announce, build_undo
from activitypub.vocab import AS_CONTEXT, PUBLIC, as_list, id_of
from fedi.domain import notes
from fedi.domain.account_suspension import shown_author
from fedi.domain.errors import NotFound
from fedi.domain.local_actors import followers_url_of
from fedi.domain.tribe_access import require_role
from fedi.domain.tribe_posts import find_post, record_post
from fedi.federation.outgoing.publish import new_activity_id, publish, publish_all
from fedi.settings import Settings
from fedi.state import AppState
from models import (
    Actor,
    ApObject,
    OutboxActivity,
    Reaction,
    Tribe,
    TribeAnnounce,
    TribePost,
    utcnow,
)

__all__ = [
    "ThreadView",
    "concerned_object",
    "distribute",
    "find_post",
    "recent_announces",
    "record_post",
    "remove_post",
    "tribe_threads",
    "undo_announces",
]


def concerned_object(activity: dict[str, Any]) -> str | None:
    """The object an activity is about: the note of a Create/Like/Delete, the liked note
    of an ``Undo{Like}``, the person of an ``Add`` (for finding announces to undo)."""
    kind = activity.get("type")
    obj = activity.get("object")
    if kind == "Undo" and isinstance(obj, dict):
        return id_of(obj.get("object"))
    return id_of(obj)


async def distribute(
    db: AsyncSession, settings: Settings, tribe: Tribe, activity: dict[str, Any], *, boost: bool,
    known: Sequence[Actor] = (),
) -> None:
    """Announce ``activity`` (an accepted member activity) to the tribe's followers.

    The activity is embedded unchanged (only ``@context`` is dropped). With ``boost`` the
    tribe also sends ``Announce{object: <object id>}``, the Mastodon boost; callers pass
    ``boost=False`` for comments and replies. Announcing the same activity (or boosting the
    same object) twice does nothing, so redeliveries and retries are harmless.

    Both announces go out together: one look at what was announced already, and one
    :func:`publish_all` (one lookup of the followers, one insert of each kind of row).
    ``known``: actors the caller has loaded that may be addressed (the author, whom the
    boost names), read from instead of looked up.
    """
    group = tribe.actor
    inner = {key: value for key, value in activity.items() if key != "@context"}
    inner_id = id_of(inner.get("id"))
    if not inner_id:
        raise ValueError("an announced activity needs its id")
    concerned = concerned_object(inner)
    boosting = boost and bool(concerned)
    announced = _ANNOUNCED_BOTH if boosting else _ANNOUNCED
    done = set(
        (await db.execute(
            announced,
            {"tribe": tribe.id, "inner": inner_id, "object": concerned, "group": group.id},
        )).all()
    )
    now = utcnow()
    activities: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if (inner_id, False) not in done:
        announce = build_announce(
            new_activity_id(settings, "announce"), group.ap_id, inner, [PUBLIC],
            [followers_url_of(group)], now,
        )
        announce["@context"] = AS_CONTEXT
        activities.append(announce)
        rows.append({
            "tribe_id": tribe.id, "announce_ap_id": announce["id"], "inner_ap_id": inner_id,
            "inner_type": str(inner.get("type") or "")[:32], "object_ap_id": concerned,
            "boost": False, "created_at": now, "undone_at": None,
        })
    boosted: dict[str, Any] | None = None
    if boosting and concerned and (concerned, True) not in done:
        boosted = _boost_activity(settings, group, concerned, id_of(inner.get("actor")))
        activities.append(boosted)
        rows.append({
            "tribe_id": tribe.id, "announce_ap_id": boosted["id"], "inner_ap_id": concerned,
            "inner_type": "Object", "object_ap_id": concerned, "boost": True,
            "created_at": now, "undone_at": None,
        })
    if not activities:
        return
    await publish_all(db, settings, group, activities, known=known)
    # Plain rows, one statement for both (nothing here reads them back).
    await db.execute(insert(TribeAnnounce), rows)
    if boosted is not None and concerned and (concerned, None) not in done:
        # Local followers' home timelines show boosts through reactions of accounts they
        # follow. An ORM row: its flush is what tells live timelines (fedi.live).
        db.add(
            Reaction(
                kind="Announce", actor_id=group.id, object_ap_id=concerned,
                activity_ap_id=boosted["id"],
            )
        )
    await db.flush()


# What the tribe announced of an activity already, as (id, boost) rows: the announce of
# the activity itself (``boost`` false) and, for ``_ANNOUNCED_BOTH``, a boost of its object
# not undone (true) and the group's ``Announce`` reaction to the object (``boost`` NULL).
# One statement instead of three; built once.
_ANNOUNCED = select(TribeAnnounce.inner_ap_id, TribeAnnounce.boost).where(
    TribeAnnounce.tribe_id == bindparam("tribe"),
    TribeAnnounce.inner_ap_id == bindparam("inner"),
    TribeAnnounce.boost.is_(False),
)
_ANNOUNCED_BOTH: CompoundSelect[Any] = union_all(
    select(TribeAnnounce.inner_ap_id, TribeAnnounce.boost).where(
        TribeAnnounce.tribe_id == bindparam("tribe"),
        or_(
            and_(
                TribeAnnounce.inner_ap_id == bindparam("inner"),
                TribeAnnounce.boost.is_(False),
            ),
            and_(
                TribeAnnounce.inner_ap_id == bindparam("object"),
                TribeAnnounce.boost.is_(True),
                TribeAnnounce.undone_at.is_(None),
            ),
        ),
    ),
    select(Reaction.object_ap_id, null().label("boost")).where(
        Reaction.actor_id == bindparam("group"),
        Reaction.kind == "Announce",
        Reaction.object_ap_id == bindparam("object"),
    ),
)


def _boost_activity(
    settings: Settings, group: Actor, object_id: str, author_id: str | None
) -> dict[str, Any]:
    """The tribe's ``Announce`` of the bare object id: the boost Mastodon shows."""
    cc = [followers_url_of(group)]
    if author_id and author_id != group.ap_id:
        # Mastodon boosts cc the author, who then sees the boost among notifications.
        cc.append(author_id)
    boost = build_announce(
        new_activity_id(settings, "announce"), group.ap_id, object_id, [PUBLIC], cc, utcnow()
    )
    boost["@context"] = AS_CONTEXT
    return boost


# ------------------------------------------------------------------ posts


async def remove_post(
    db: AsyncSession, state: AppState, tribe: Tribe, by: Actor, object_ap_id: str
) -> TribePost:
    """A moderator (or admin) takes a post out of the tribe, on every follower too.

    Our own objects are deleted (``Delete`` from their author, announced); someone else's
    get ``Remove{object, target: the tribe's outbox}``. Then every ``Announce`` the tribe
    sent about the post is undone with ``Undo{Announce}``, so it leaves Mastodon timelines.
    """

    settings = state.settings
    await require_role(db, tribe, by, "moderator")
    post = await find_post(db, tribe, object_ap_id)
    if post is None or post.state != "active":
        raise NotFound("This post does not exist (any more).")
    group = tribe.actor
    await undo_announces(db, settings, tribe, object_ap_id)
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == object_ap_id))
    if obj is not None and obj.local and obj.deleted_at is None and obj.attributed_to_id:
        author = await db.get(Actor, obj.attributed_to_id)
        if author is not None:
            # We host the author: the server deletes the post in their name, as Mastodon
            # does when its moderators remove a status; only the author's Delete is
            # honoured by Mastodon for the post itself.
            delete_id = await notes.delete_note(db, state, author, obj)
            outbox = await db.scalar(
                select(OutboxActivity).where(OutboxActivity.ap_id == delete_id)
            )
            if outbox is not None:
                await distribute(db, settings, tribe, outbox.payload, boost=False)
    else:
        author_id = post.author.ap_id if post.author is not None else None
        remove = {
            "@context": AS_CONTEXT,
            "id": new_activity_id(settings, "remove"),
            "type": "Remove",
            "actor": group.ap_id,
            "object": object_ap_id,
            "target": f"{group.ap_id}/outbox",
            "to": [PUBLIC],
            "cc": [followers_url_of(group), *([author_id] if author_id else [])],
            "audience": group.ap_id,
        }
        await publish(db, settings, group, remove)
    post.state = "removed"
    post.removed_at = utcnow()
    post.removed_by_id = by.id
    await db.flush()
    return post


async def undo_announces(
    db: AsyncSession, settings: Settings, tribe: Tribe, object_ap_id: str
) -> None:
    """``Undo{Announce}`` of every Announce the tribe sent about ``object_ap_id``: Mastodon
    keeps a boost on its timelines until it is undone, even after the object is deleted."""
    group = tribe.actor
    rows = (
        await db.scalars(
            select(TribeAnnounce).where(
                TribeAnnounce.tribe_id == tribe.id,
                TribeAnnounce.object_ap_id == object_ap_id,
                TribeAnnounce.undone_at.is_(None),
            )
        )
    ).all()
    now = utcnow()
    for row in rows:
        sent = await db.scalar(
            select(OutboxActivity).where(OutboxActivity.ap_id == row.announce_ap_id)
        )
        original = (
            {k: v for k, v in sent.payload.items() if k != "@context"}
            if sent is not None
            else {"id": row.announce_ap_id, "type": "Announce", "actor": group.ap_id}
        )
        undo = build_undo(new_activity_id(settings, "undo"), group.ap_id, original)
        undo["to"] = as_list(original.get("to")) or [PUBLIC]
        undo["cc"] = as_list(original.get("cc")) or [followers_url_of(group)]
        await publish(db, settings, group, undo)
        row.undone_at = now
    reaction = await db.scalar(
        select(Reaction).where(
            Reaction.actor_id == group.id, Reaction.kind == "Announce",
            Reaction.object_ap_id == object_ap_id,
        )
    )
    if reaction is not None:
        await db.delete(reaction)
    await db.flush()


# ------------------------------------------------------------------ reading


@dataclass
class ThreadView:
    """A top-level tribe post with its object, author and the replies in its thread."""

    post: TribePost
    obj: ApObject
    replies: list[tuple[TribePost, ApObject]] = field(default_factory=list)


async def tribe_threads(db: AsyncSession, tribe: Tribe, *, limit: int = 30) -> list[ThreadView]:
    """The tribe's active top-level posts, newest first, each with its replies (oldest first)."""
    rows = (
        await db.execute(
            select(TribePost, ApObject)
            .join(ApObject, ApObject.ap_id == TribePost.object_ap_id)
            .where(
                TribePost.tribe_id == tribe.id,
                TribePost.state == "active",
                TribePost.is_reply.is_(False),
                ApObject.deleted_at.is_(None),
                shown_author(ApObject.attributed_to_id),  # hidden while suspended
            )
            .order_by(TribePost.created_at.desc(), TribePost.id.desc())
            .limit(limit)
        )
    ).unique().all()
    threads = [ThreadView(post=post, obj=obj) for post, obj in rows]
    if not threads:
        return threads
    by_root = {t.post.object_ap_id: t for t in threads}
    replies = (
        await db.execute(
            select(TribePost, ApObject)
            .join(ApObject, ApObject.ap_id == TribePost.object_ap_id)
            .where(
                TribePost.tribe_id == tribe.id,
                TribePost.state == "active",
                TribePost.is_reply.is_(True),
                TribePost.root_ap_id.in_(sorted(by_root)),
                ApObject.deleted_at.is_(None),
                shown_author(ApObject.attributed_to_id),
            )
            .order_by(TribePost.created_at, TribePost.id)
        )
    ).unique().all()
    for post, obj in replies:
        by_root[post.root_ap_id].replies.append((post, obj))
    return threads


async def recent_announces(
    db: AsyncSession, tribe: Tribe, *, limit: int = 30
) -> list[TribeAnnounce]:
    """The tribe's latest announces (not undone), newest first."""
    rows = await db.scalars(
        select(TribeAnnounce)
        .where(TribeAnnounce.tribe_id == tribe.id, TribeAnnounce.undone_at.is_(None))
        .order_by(TribeAnnounce.created_at.desc(), TribeAnnounce.id.desc())
        .limit(limit)
    )
    return list(rows.all())
