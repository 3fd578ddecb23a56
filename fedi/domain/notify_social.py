"""Notifications of the social side: follows, mentions, replies, likes and boosts.

Local actions arrive as domain events (``fedi.domain.events_social``). Activities from
other servers are applied by the inbox without domain events, so the inbox handlers call
:func:`followed`, :func:`note_arrived` and :func:`reacted` with what they stored. A
redelivered activity (Mastodon re-sends a Follow it thinks was lost) notifies once: a
notification of the same kind, by the same person, about the same thing is not repeated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.events import subscribes
from fedi.domain.events_social import FollowRequested, NoteCreated, Reacted
from fedi.domain.notifications import notify
from fedi.domain.reactions import ANNOUNCE, LIKE
from fedi.text import plain_text
from models import Actor, ApObject, Notification, Reaction
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


async def _already(
    db: AsyncSession, person: Actor, kind: str, by: Actor, about: str
) -> bool:
    """Whether ``person`` was told already that ``by`` did ``kind`` about ``about``."""
    rows = await db.scalars(
        select(Notification)
        .where(
            Notification.recipient_id == person.id,
            Notification.kind == kind,
            Notification.actor_id == by.id,
        )
        .order_by(Notification.id.desc())
        .limit(50)
    )
    return any((row.payload or {}).get("about") == about for row in rows.unique().all())


async def _tell(
    db: AsyncSession, person: Actor | None, kind: str, by: Actor, about: str,
    payload: dict[str, Any],
) -> None:
    if person is None or not person.local or person.id == by.id:
        return
    if await _already(db, person, kind, by, about):
        return
    await notify(db, [person], kind, by=by, payload={**payload, "about": about})


async def followed(db: AsyncSession, follower: Actor, target: Actor, *, accepted: bool) -> None:
    """``follower`` follows ``target`` now (``accepted``) or asks to (a locked account)."""
    kind = "follow" if accepted else "follow_request"
    url = follower.url or follower.ap_id
    # One notification per follow: a follow ended and started again is news again.
    about = f"{follower.ap_id}@{utcnow().date().isoformat()}"
    await _tell(db, target, kind, follower, about, {"handle": follower.handle, "url": url})


async def reacted(db: AsyncSession, by: Actor, kind: str, note: ApObject) -> None:
    """``by`` liked or boosted ``note`` (``kind``: ``Like`` or ``Announce``)."""
    name = _KIND_OF_REACTION.get(kind)
    if name is None or note.attributed_to_id is None:
        return
    author = await db.get(Actor, note.attributed_to_id)
    await _tell(db, author, name, by, note.ap_id, _note_payload(note))


async def reaction_received(db: AsyncSession, by: Actor, reaction: object) -> None:
    """The inbox stored ``reaction`` (a like or boost from another server): tell the author."""
    if not isinstance(reaction, Reaction):
        return
    note = await db.scalar(select(ApObject).where(ApObject.ap_id == reaction.object_ap_id))
    if note is not None:
        await reacted(db, by, reaction.kind, note)


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
            author = await db.get(Actor, parent.attributed_to_id)
            if author is not None and author.local:
                replied_to = author.id
                await _tell(db, author, "reply", by, note.ap_id, payload)
    if direct_told and note.visibility == "direct":
        return
    ids = _mentioned_ids(note)
    if not ids:
        return
    people = await db.scalars(
        select(Actor).where(Actor.local.is_(True), Actor.ap_id.in_(ids))
    )
    for person in people.unique().all():
        if person.id != replied_to:
            await _tell(db, person, "mention", by, note.ap_id, payload)


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
