"""Notifications of the social side: follows, mentions, replies, likes and boosts.

Local actions arrive as domain events (``fedi.domain.events_social``). Activities from
other servers are applied by the inbox without domain events, so the inbox handlers call
:func:`followed`, :func:`note_arrived` and :func:`reacted` with what they stored. A
redelivered activity (Mastodon re-sends a Follow it thinks was lost) notifies once: a
notification of the same kind, by the same person, about the same thing is not repeated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from fedi.domain.events import subscribes
from fedi.domain.events_social import FollowRequested, NoteCreated, Reacted
from fedi.domain.notifications import notify_once
from fedi.domain.reactions import ANNOUNCE, LIKE
from fedi.text import plain_text
from models import Actor, ApObject, Reaction
from models.base import utcnow

__all__ = ["followed", "note_arrived", "reacted", "reaction_received"]

EXCERPT = 80
_KIND_OF_REACTION = {LIKE: "like", ANNOUNCE: "boost"}


def _excerpt(note: ApObject) -> str:
    return plain_text(note.content_html or "", EXCERPT) or (note.name or "")


def _note_payload(note: ApObject) -> dict[str, Any]:
    """What a notification about ``note`` shows and links to."""
    excerpt = _excerpt(note)
    # "initiative" is where the web page's "X mentioned you in ..." reads its last words.
    return {
        "note": note.ap_id, "excerpt": excerpt, "initiative": excerpt,
        "url": note.url or note.ap_id,
    }


async def _tell(
    db: AsyncSession, person: Actor | None, kind: str, by: Actor, about: str,
    payload: dict[str, Any],
) -> None:
    if person is None:
        return
    await notify_once(db, person, kind, by=by, about=about, payload=payload)


async def followed(db: AsyncSession, follower: Actor, target: Actor, *, accepted: bool) -> None:
    """``follower`` follows ``target`` now (``accepted``) or asks to (a locked account)."""
    kind = "follow" if accepted else "follow_request"
    url = follower.url or follower.ap_id
    # One notification per follow: a follow ended and started again is news again.
    about = f"{follower.ap_id}@{utcnow().date().isoformat()}"
    await _tell(db, target, kind, follower, about, {"handle": follower.handle, "url": url})


async def _actor(db: AsyncSession, actor_id: int) -> Actor | None:
    """The actor ``actor_id``, without the talents no notification shows."""
    return await db.get(Actor, actor_id, options=[lazyload(Actor.talents)])


async def reacted(
    db: AsyncSession, by: Actor, kind: str, note: ApObject, *, author: Actor | None = None
) -> None:
    """``by`` liked or boosted ``note`` (``kind``: ``Like`` or ``Announce``); ``author``:
    the note's author when the caller has it loaded already."""
    name = _KIND_OF_REACTION.get(kind)
    if name is None or note.attributed_to_id is None:
        return
    if author is None or author.id != note.attributed_to_id:
        author = await _actor(db, note.attributed_to_id)
    await _tell(db, author, name, by, note.ap_id, _note_payload(note))


async def reaction_received(
    db: AsyncSession, by: Actor, reaction: object, *, note: ApObject | None = None,
    author: Actor | None = None,
) -> None:
    """The inbox stored ``reaction`` (a like or boost from another server): tell the author.

    ``note`` and ``author``: the reacted-to note and its author when the caller has them
    loaded already (each is a statement less).
    """
    if not isinstance(reaction, Reaction):
        return
    if note is None or note.ap_id != reaction.object_ap_id:
        note = await db.scalar(select(ApObject).where(ApObject.ap_id == reaction.object_ap_id))
    if note is not None:
        await reacted(db, by, reaction.kind, note, author=author)


def _mentioned_ids(note: ApObject) -> list[str]:
    tags = (note.payload or {}).get("tag")
    found: list[str] = []
    for tag in tags if isinstance(tags, list) else [tags]:
        if isinstance(tag, dict) and tag.get("type") == "Mention":
            href = tag.get("href")
            if isinstance(href, str) and href not in found:
                found.append(href)
    return found


async def note_arrived(db: AsyncSession, note: ApObject, by: Actor, *, direct_told: bool) -> None:
    """Tell the author of the post ``note`` replies to, and the local people it mentions.

    The author of the parent gets ``reply`` (not also ``mention``). ``direct_told``: the
    local recipients of a direct message were told already (the inbox does that for
    messages from other servers), so mentions are not repeated for it.
    """
    if note.deleted_at is not None:
        return
    payload = _note_payload(note)
    replied_to: int | None = None
    if note.in_reply_to:
        parent = await db.scalar(select(ApObject).where(ApObject.ap_id == note.in_reply_to))
        if parent is not None and parent.attributed_to_id is not None:
            author = await _actor(db, parent.attributed_to_id)
            if author is not None and author.local:
                replied_to = author.id
                await _tell(db, author, "reply", by, note.ap_id, payload)
    if direct_told and note.visibility == "direct":
        return
    ids = _mentioned_ids(note)
    if not ids:
        return
    people = await db.scalars(_LOCAL_PEOPLE, {"ids": ids})
    for person in people.unique().all():
        # Only people are notified (a mentioned tribe is not): no statements for the others.
        if person.id != replied_to:
            await _tell(db, person, "mention", by, note.ap_id, payload)


# Built once (asked for every note that mentions anyone).
_LOCAL_PEOPLE = (
    select(Actor)
    .where(
        Actor.local.is_(True), Actor.type == "Person",
        Actor.ap_id.in_(bindparam("ids", expanding=True)),
    )
    .options(lazyload(Actor.talents))
)


@subscribes(FollowRequested)
async def _follow_requested(db: AsyncSession, settings: object, event: FollowRequested) -> None:
    target = event.followed
    if target.local and target.type == "Person":
        await followed(db, event.follower, target, accepted=not target.manually_approves_followers)


@subscribes(NoteCreated)
async def _note_created(db: AsyncSession, settings: object, event: NoteCreated) -> None:
    await note_arrived(db, event.note, event.actor, direct_told=False)


@subscribes(Reacted)
async def _reacted(db: AsyncSession, settings: object, event: Reacted) -> None:
    await reacted(db, event.actor, event.reaction.kind, event.note)
