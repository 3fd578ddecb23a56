"""Notes: writing, editing and deleting our own, and storing those other servers send.

Visibility decides the addressing (the same mapping Mastodon uses):

=========  ===========================  ================================
visibility ``to``                       ``cc``
=========  ===========================  ================================
public     Public                       followers collection, mentioned
unlisted   followers collection         Public, mentioned
followers  followers collection         mentioned
direct     mentioned                    (nothing)
=========  ===========================  ================================

Mentioned people are resolved by the caller (WebFinger for ``@name@host``, in
``fedi.federation.remote.mentions``) *before* anything is written and handed in as
``mentions``; this module only looks handles up in the actors table, so no transaction is
ever open across the network. The services emit :class:`NoteCreated`/``Updated``/``Deleted``
and the federation layer sends the activities; the note, its activity and its deliveries
land in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_note
from activitypub.timefmt import format_datetime
from activitypub.vocab import PUBLIC, as_list, id_of, is_public
from fedi.domain import ratelimit
from fedi.domain.account_suspension import shown_author
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_social import NoteCreated, NoteDeleted, NoteUpdated
from fedi.domain.ids import new_activity_id, new_object_id
from fedi.domain.local_actors import followers_url_of
from fedi.domain.mentions import MentionLink, MentionRef, find_mentions, link_text
from fedi.domain.tribe_posts import take_local_note
from fedi.settings import Settings
from fedi.state import AppState
from fedi.text import render_markdown
from models import Actor, ApObject, Follow, Reaction, utcnow

log = logging.getLogger(__name__)

# Key in ``AsyncSession.info`` of a per-inbox-item memo of object lookups (see lookup_object).
OBJECT_MEMO = "object_memo"

VISIBILITIES = ("public", "unlisted", "followers", "direct")
# Object types we store from other servers and show as posts: what Mastodon shows as a
# status (media objects from PeerTube, Pixelfed, Funkwhale; Mobilizon's Event, which is
# also kept as a meetup by ``incoming.meetups``) besides notes, articles, pages and polls.
NOTE_TYPES = frozenset(
    {"Note", "Article", "Page", "Question", "Image", "Video", "Audio", "Document", "Event"}
)
# Key in a stored remote object's payload listing the local actors it reached only through
# ``bto``/``bcc``: those lists are removed from what we keep (never shown nor re-sent), and
# this private list lets exactly those people see it. It is never served: only our own
# objects are, from their own payload.
PRIVATE_RECIPIENTS = "_fedi_private_to"
MAX_NOTE_CHARS = 5000
MAX_SUMMARY_CHARS = 500


# ---------------------------------------------------------------- addressing


def address(actor: Actor, visibility: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """The ``to`` and ``cc`` lists for a note of ``actor`` with this visibility."""
    followers = followers_url_of(actor)
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers], list(mentioned)
    if visibility == "direct":
        return list(mentioned), []
    raise ServiceError("Unknown visibility %(value)s.", field="visibility", value=visibility)


def visibility_from(to: Any, cc: Any, followers_url: str | None) -> str:
    """Derive a visibility from received addressing (the inverse of :func:`address`)."""
    if is_public(to):
        return "public"
    if is_public(cc):
        return "unlisted"
    addressed = {id_of(x) for x in as_list(to) + as_list(cc)}
    if followers_url and followers_url in addressed:
        return "followers"
    return "direct"


def addressed_ids(payload: dict[str, Any]) -> set[str]:
    """Every id a stored object was addressed to (``to``, ``cc``, ``audience``, and the
    local people it reached through ``bto``/``bcc``: :data:`PRIVATE_RECIPIENTS`)."""
    out: set[str] = set()
    for key in ("to", "cc", "audience", PRIVATE_RECIPIENTS):
        for item in as_list(payload.get(key)):
            ident = id_of(item)
            if ident:
                out.add(ident)
    return out


# ---------------------------------------------------------------- mentions


async def known_actor(db: AsyncSession, settings: Settings, ref: MentionRef) -> Actor | None:
    """The actor a mention names, if it is in the actors table (no network)."""
    if ref.host.lower() == settings.host.lower():
        return await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == ref.username.lower())
        )
    return await db.scalar(
        select(Actor).where(
            Actor.username == ref.username, Actor.domain == ref.host, Actor.local.is_(False)
        )
    )


async def _resolve_mentions(
    db: AsyncSession, settings: Settings, text: str, mentions: Mapping[str, Actor] | None
) -> tuple[list[Actor], dict[str, MentionLink]]:
    """The people mentioned in ``text``: from ``mentions`` (handles resolved by the caller,
    keyed by lower-case ``name@host``), else from the actors table; unknown handles are
    left as plain text."""
    actors: list[Actor] = []
    links: dict[str, MentionLink] = {}
    for ref in find_mentions(text, settings.host)[:20]:
        actor = (mentions or {}).get(ref.handle.lower()) or await known_actor(db, settings, ref)
        if actor is None or actor.gone_at is not None:
            continue
        if actor.id not in {a.id for a in actors}:
            actors.append(actor)
        links[ref.handle.lower()] = MentionLink(actor.url or actor.ap_id, actor.username)
    return actors, links


def _mention_tags(actors: list[Actor]) -> list[dict[str, Any]]:
    return [{"type": "Mention", "href": a.ap_id, "name": f"@{a.handle}"} for a in actors]


def _check_text(
    text: str, summary: str | None, *, with_media: bool = False
) -> tuple[str, str | None]:
    text = (text or "").strip()
    # A photo may be posted without words (Mastodon allows it when media is attached).
    if not text and not with_media:
        raise ServiceError("Write something first.", field="content")
    if len(text) > MAX_NOTE_CHARS:
        raise ServiceError(
            "A note can be at most %(limit)s characters.", field="content", limit=MAX_NOTE_CHARS
        )
    summary = (summary or "").strip() or None
    if summary is not None and len(summary) > MAX_SUMMARY_CHARS:
        raise ServiceError(
            "A content warning can be at most %(limit)s characters.",
            field="summary",
            limit=MAX_SUMMARY_CHARS,
        )
    return text, summary


# ---------------------------------------------------------------- local notes


async def create_note(
    db: AsyncSession,
    state: AppState,
    author: Actor,
    text: str,
    visibility: str = "public",
    *,
    summary: str | None = None,
    in_reply_to: str | None = None,
    recipients: list[Actor] | None = None,
    content_html: str | None = None,
    mentions: Mapping[str, Actor] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> ApObject:
    """Write a note as the local ``author`` and emit :class:`NoteCreated`.

    ``text`` is markdown-ish; mentions in it are linked (``mentions``: handles the caller
    resolved beforehand; others are looked up among known actors). ``recipients`` adds
    people addressed without being named in the text (a C2S client addressing actor URLs).
    ``content_html``, when given, is used instead of rendering ``text`` (already sanitised
    HTML from a C2S client); ``text`` then only serves to find mentions.
    ``attachments``: AS2 ``Document``/``Image`` objects of uploads to send with the note
    (the Mastodon API's ``media_ids``).
    """
    if not author.local:
        raise Forbidden("Only people of this instance can post here.")
    if visibility not in VISIBILITIES:
        raise ServiceError("Unknown visibility %(value)s.", field="visibility", value=visibility)
    text, summary = _check_text(text, summary, with_media=bool(attachments))
    settings = state.settings
    await ratelimit.take_post(db, settings.posts_per_3_hours, author.id)
    mentioned, links = await _resolve_mentions(db, settings, text, mentions)
    for extra in recipients or []:
        if extra.id not in {a.id for a in mentioned} and extra.id != author.id:
            mentioned.append(extra)
    parent: ApObject | None = None
    if in_reply_to:
        parent = await db.scalar(select(ApObject).where(ApObject.ap_id == in_reply_to))
        if parent is not None and parent.attributed_to_id not in (None, author.id):
            parent_author = await db.get(Actor, parent.attributed_to_id)
            if parent_author is not None and parent_author.id not in {a.id for a in mentioned}:
                mentioned.append(parent_author)
    mentioned = [a for a in mentioned if a.id != author.id]
    if visibility == "direct" and not mentioned:
        raise ServiceError(
            "A direct message needs at least one person mentioned (@name@host).",
            field="content",
        )
    html = content_html if content_html is not None else render_markdown(text)
    html = link_text(html, links, settings.host)
    to, cc = address(author, visibility, [a.ap_id for a in mentioned])
    now = utcnow()
    object_id = new_object_id(settings, author.username)
    note = build_note(
        id=object_id,
        attributed_to=author.ap_id,
        content_html=html,
        to=to,
        cc=cc,
        published=now,
        in_reply_to=in_reply_to,
        source_markdown=text,
        tags=_mention_tags(mentioned),
        sensitive=summary is not None,
        summary=summary,
    )
    if attachments:
        note["attachment"] = list(attachments)
    obj = ApObject(
        ap_id=object_id,
        type="Note",
        local=True,
        attributed_to_id=author.id,
        summary=summary,
        content_html=html,
        source=text,
        url=object_id,
        in_reply_to=in_reply_to,
        context=parent.context if parent is not None else None,
        visibility=visibility,
        payload=note,
        published=now,
    )
    db.add(obj)
    await db.flush()
    activity_id = new_activity_id(settings, "create")
    await emit(db, settings, NoteCreated(actor=author, note=obj, activity_id=activity_id))
    # A local tribe the note is for takes it now, in this transaction.
    await take_local_note(db, settings, author, obj, activity_id)
    return obj


async def get_local_note(db: AsyncSession, author: Actor, ap_id: str) -> ApObject:
    """One of ``author``'s own notes, not deleted (else NotFound/Forbidden)."""
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))
    if obj is None or obj.deleted_at is not None:
        raise NotFound("This note does not exist.")
    if obj.attributed_to_id != author.id or not obj.local:
        raise Forbidden("Only the author can change this note.")
    return obj


async def update_note(
    db: AsyncSession,
    state: AppState,
    author: Actor,
    note: ApObject,
    text: str,
    *,
    summary: str | None = None,
    content_html: str | None = None,
    mentions: Mapping[str, Actor] | None = None,
) -> str:
    """Edit the text of one of ``author``'s notes and emit :class:`NoteUpdated`.

    The visibility stays; people newly mentioned are added (``mentions`` as for
    :func:`create_note`), and everyone who received the note before receives the update
    too. Returns the id of the ``Update``.
    """
    if note.attributed_to_id != author.id or not note.local:
        raise Forbidden("Only the author can change this note.")
    if note.deleted_at is not None:
        raise NotFound("This note does not exist.")
    text, summary = _check_text(text, summary)
    settings = state.settings
    mentioned, links = await _resolve_mentions(db, settings, text, mentions)
    mentioned = [a for a in mentioned if a.id != author.id]
    html = content_html if content_html is not None else render_markdown(text)
    html = link_text(html, links, settings.host)
    payload = dict(note.payload)
    new_to, new_cc = address(author, note.visibility, [a.ap_id for a in mentioned])
    to = _merge(as_list(payload.get("to")), new_to)
    cc = _merge(as_list(payload.get("cc")), new_cc)
    old_tags = [t for t in as_list(payload.get("tag")) if isinstance(t, dict)]
    known = {t.get("href") for t in old_tags}
    tags = old_tags + [t for t in _mention_tags(mentioned) if t["href"] not in known]
    now = utcnow()
    payload.update(
        content=html,
        source={"content": text, "mediaType": "text/markdown"},
        summary=summary,
        sensitive=summary is not None,
        to=to,
        cc=cc,
        tag=tags,
        updated=_fmt(now),
    )
    note.payload = payload
    note.content_html = html
    note.source = text
    note.summary = summary
    note.updated = now
    await db.flush()
    activity_id = new_activity_id(settings, "update")
    await emit(
        db, settings,
        NoteUpdated(actor=author, note=note, activity_id=activity_id, to=tuple(to), cc=tuple(cc)),
    )
    return activity_id


async def delete_note(db: AsyncSession, state: AppState, actor: Actor, note: ApObject) -> str:
    """Delete one of ``actor``'s notes: a Tombstone stays (served with 410) and
    :class:`NoteDeleted` tells everyone the note reached. Returns the ``Delete``'s id."""
    if note.attributed_to_id != actor.id or not note.local:
        raise Forbidden("Only the author can delete this note.")
    if note.deleted_at is not None:
        raise NotFound("This note does not exist.")
    payload = note.payload or {}
    to = as_list(payload.get("to"))
    cc = as_list(payload.get("cc"))
    now = utcnow()
    tombstone(note, now)
    await db.execute(delete(Reaction).where(Reaction.object_ap_id == note.ap_id))
    await db.flush()
    activity_id = new_activity_id(state.settings, "delete")
    await emit(
        db, state.settings,
        NoteDeleted(actor=actor, note=note, activity_id=activity_id, to=tuple(to), cc=tuple(cc)),
    )
    return activity_id


def tombstone(note: ApObject, when: datetime) -> None:
    """Forget a note's content, keeping only what the Tombstone needs."""
    former = note.type
    note.deleted_at = when
    note.content_html = ""
    note.source = None
    note.summary = None
    note.name = None
    note.payload = {"id": note.ap_id, "type": "Tombstone", "formerType": former}


def _merge(first: list[Any], second: list[Any]) -> list[Any]:
    out = list(first)
    for item in second:
        if item not in out:
            out.append(item)
    return out


def _fmt(value: datetime) -> str:
    return format_datetime(value)


# ---------------------------------------------------------------- stored objects


_OBJECT_BY_ID = select(ApObject).where(ApObject.ap_id == bindparam("ap_id"))


async def lookup_object(db: AsyncSession, ap_id: str) -> ApObject | None:
    """The stored object with id ``ap_id``, memoised while the inbox worker handles one item.

    Handling one ``Create`` asks for the same object three times (is it a redelivery, is it
    stored yet, store it); the worker sets a fresh memo for each item, so the answer cannot
    go stale across items. Without a memo (web requests) this is a plain lookup.
    """
    memo: dict[str, ApObject | None] | None = db.info.get(OBJECT_MEMO)
    if memo is not None and ap_id in memo:
        return memo[ap_id]
    found = await db.scalar(_OBJECT_BY_ID, {"ap_id": ap_id})
    if memo is not None:
        memo[ap_id] = found
    return found


# ---------------------------------------------------------------- reading


async def can_see(db: AsyncSession, viewer: Actor | None, obj: ApObject) -> bool:
    """Whether ``viewer`` (None: anonymous) may see ``obj`` under its visibility.

    Nobody sees the notes of a suspended author while the suspension lasts (Mastodon hides
    them too; they come back when it is lifted): their pages, replies and reactions go
    through here.
    """
    author = None
    if obj.attributed_to_id is not None:
        author = await db.get(Actor, obj.attributed_to_id)
        if author is not None and author.suspended_at is not None:
            return False
    if obj.visibility in ("public", "unlisted"):
        return True
    if viewer is None or author is None:
        return False
    return await is_addressed(db, viewer, author, obj.payload or {})


async def is_addressed(
    db: AsyncSession, viewer: Actor, author: Actor, payload: dict[str, Any]
) -> bool:
    """Whether ``payload`` (an object or activity by ``author``) reaches ``viewer``.

    True for the author, for an actor named in its addressing, and for an accepted
    follower when the author's followers collection is addressed.
    """
    if viewer.id == author.id or is_public(payload.get("to")) or is_public(payload.get("cc")):
        return True
    addressed = addressed_ids(payload)
    if viewer.ap_id in addressed:
        return True
    if followers_url_of(author) not in addressed:
        return False
    follows = await db.scalar(
        select(Follow.id).where(
            Follow.follower_id == viewer.id,
            Follow.followed_id == author.id,
            Follow.accepted.is_(True),
        )
    )
    return follows is not None


@dataclass
class TimelineEntry:
    """A note on a timeline with its author and reaction counts."""

    note: ApObject
    author: Actor
    likes: int
    boosts: int
    liked: bool
    boosted: bool


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


async def home_timeline(
    db: AsyncSession, viewer: Actor, *, before: int | None = None, limit: int = 20
) -> list[TimelineEntry]:
    """Notes for ``viewer``'s home: own notes, notes (and boosts) of followed accounts,
    and direct messages addressed to them; newest first, paged by ``before`` (an id)."""
    followed = select(Follow.followed_id).where(
        Follow.follower_id == viewer.id, Follow.accepted.is_(True)
    )
    boosted_by_followed = select(Reaction.object_ap_id).where(
        Reaction.kind == "Announce", Reaction.actor_id.in_(followed)
    )
    query = (
        select(ApObject)
        .where(
            ApObject.deleted_at.is_(None),
            ApObject.type.in_(sorted(NOTE_TYPES)),
            shown_author(ApObject.attributed_to_id),  # hidden while suspended
            or_(
                ApObject.attributed_to_id == viewer.id,
                (ApObject.attributed_to_id.in_(followed))
                & ApObject.visibility.in_(("public", "unlisted", "followers")),
                ApObject.ap_id.in_(boosted_by_followed)
                & ApObject.visibility.in_(("public", "unlisted")),
                # Direct messages: a coarse text match, confirmed by can_see() below.
                (ApObject.visibility == "direct")
                & cast(ApObject.payload, Text).like(_like_pattern(viewer.ap_id), escape="\\"),
            ),
        )
        .order_by(ApObject.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(ApObject.id < before)
    notes = [n for n in (await db.scalars(query)).all() if await can_see(db, viewer, n)]
    if not notes:
        return []
    ids = [n.ap_id for n in notes]
    counts: dict[tuple[str, str], int] = {}
    for object_ap_id, kind, count in (
        await db.execute(
            select(Reaction.object_ap_id, Reaction.kind, func.count(Reaction.id))
            .where(Reaction.object_ap_id.in_(ids))
            .group_by(Reaction.object_ap_id, Reaction.kind)
        )
    ).all():
        counts[(object_ap_id, kind)] = int(count)
    mine = {
        (r.object_ap_id, r.kind)
        for r in (
            await db.scalars(
                select(Reaction).where(
                    Reaction.actor_id == viewer.id, Reaction.object_ap_id.in_(ids)
                )
            )
        ).all()
    }
    authors = {
        a.id: a
        for a in (
            await db.scalars(
                select(Actor).where(Actor.id.in_({n.attributed_to_id for n in notes}))
            )
        ).all()
    }
    entries = []
    for n in notes:
        author = authors.get(n.attributed_to_id or 0)
        if author is None:
            continue
        entries.append(
            TimelineEntry(
                note=n,
                author=author,
                likes=counts.get((n.ap_id, "Like"), 0),
                boosts=counts.get((n.ap_id, "Announce"), 0),
                liked=(n.ap_id, "Like") in mine,
                boosted=(n.ap_id, "Announce") in mine,
            )
        )
    return entries
