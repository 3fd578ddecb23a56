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

Mentioned people are resolved (WebFinger for ``@name@host``) *before* anything is
written, so that ``publish()`` finds every recipient in the actors table and the note,
its ``Create`` and its deliveries land in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_create, build_note, build_update, parse_datetime
from activitypub.fetcher import FetchError
from activitypub.timefmt import format_datetime
from activitypub.vocab import ACTOR_TYPES, AS_CONTEXT, PUBLIC, as_list, host_of, id_of, is_public
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.follows import drop_follows_of
from fedi.domain.mentions import MentionLink, find_mentions, link_text
from fedi.federation.incoming.object_receivers import receiver_for, register_object_receiver
from fedi.federation.outgoing.publish import new_activity_id, new_object_id, publish
from fedi.federation.remote.actors import ActorUnavailable, get_or_fetch_actor, resolve_handle
from fedi.federation.runtime import get_federation
from fedi.state import AppState
from fedi.text import plain_text, render_markdown, sanitize_remote_html
from models import Actor, ApObject, Follow, OutboxActivity, Reaction, utcnow

log = logging.getLogger(__name__)

# Key in ``AsyncSession.info`` of a per-inbox-item memo of object lookups (see lookup_object).
OBJECT_MEMO = "object_memo"

VISIBILITIES = ("public", "unlisted", "followers", "direct")
# Object types we store from other servers and show as posts.
NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question"})
MAX_NOTE_CHARS = 5000
MAX_SUMMARY_CHARS = 500


# ---------------------------------------------------------------- addressing


def followers_url_of(actor: Actor) -> str:
    """The actor's followers collection (ours follow the fixed URL layout)."""
    return actor.followers_url or f"{actor.ap_id}/followers"


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
    """Every id a stored object was addressed to (``to``, ``cc`` and ``audience``)."""
    out: set[str] = set()
    for key in ("to", "cc", "audience"):
        for item in as_list(payload.get(key)):
            ident = id_of(item)
            if ident:
                out.add(ident)
    return out


# ---------------------------------------------------------------- mentions


async def _resolve_mentions(
    db: AsyncSession, state: AppState, text: str
) -> tuple[list[Actor], dict[str, MentionLink]]:
    """Find the people mentioned in ``text``; unknown handles are left as plain text."""
    settings = state.settings
    actors: list[Actor] = []
    links: dict[str, MentionLink] = {}
    for ref in find_mentions(text, settings.host)[:20]:
        actor: Actor | None
        try:
            actor = await resolve_handle(state, db, ref.handle)
        except ActorUnavailable as exc:
            log.info("mention %s not resolved: %s", ref.handle, exc)
            actor = None
        if actor is None or actor.gone_at is not None:
            continue
        if actor.id not in {a.id for a in actors}:
            actors.append(actor)
        links[ref.handle.lower()] = MentionLink(actor.url or actor.ap_id, actor.username)
    return actors, links


def _mention_tags(actors: list[Actor]) -> list[dict[str, Any]]:
    return [{"type": "Mention", "href": a.ap_id, "name": f"@{a.handle}"} for a in actors]


def _check_text(text: str, summary: str | None) -> tuple[str, str | None]:
    text = (text or "").strip()
    if not text:
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
) -> ApObject:
    """Write a note as the local ``author`` and publish ``Create{Note}``.

    ``text`` is markdown-ish; mentions in it are resolved and linked. ``recipients`` adds
    people addressed without being named in the text (a C2S client addressing actor URLs).
    ``content_html``, when given, is used instead of rendering ``text`` (already sanitised
    HTML from a C2S client); ``text`` then only serves to find mentions.
    """
    if not author.local:
        raise Forbidden("Only people of this instance can post here.")
    if visibility not in VISIBILITIES:
        raise ServiceError("Unknown visibility %(value)s.", field="visibility", value=visibility)
    text, summary = _check_text(text, summary)
    settings = state.settings
    mentioned, links = await _resolve_mentions(db, state, text)
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
    create = build_create(new_activity_id(settings, "create"), author.ap_id, note, to, cc)
    create["@context"] = AS_CONTEXT
    create["published"] = note["published"]
    await publish(db, settings, author, create)
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
) -> OutboxActivity:
    """Edit the text of one of ``author``'s notes and publish ``Update{Note}``.

    The visibility stays; people newly mentioned are added, and everyone who received the
    note before receives the update too.
    """
    if note.attributed_to_id != author.id or not note.local:
        raise Forbidden("Only the author can change this note.")
    if note.deleted_at is not None:
        raise NotFound("This note does not exist.")
    text, summary = _check_text(text, summary)
    settings = state.settings
    mentioned, links = await _resolve_mentions(db, state, text)
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
    update = build_update(new_activity_id(settings, "update"), author.ap_id, payload, to, cc)
    update["@context"] = AS_CONTEXT
    update["published"] = _fmt(now)
    return await publish(db, settings, author, update)


async def delete_note(
    db: AsyncSession, state: AppState, actor: Actor, note: ApObject
) -> OutboxActivity:
    """Delete one of ``actor``'s notes: a Tombstone stays (served with 410) and
    ``Delete`` goes to everyone the note reached."""
    if note.attributed_to_id != actor.id or not note.local:
        raise Forbidden("Only the author can delete this note.")
    if note.deleted_at is not None:
        raise NotFound("This note does not exist.")
    payload = note.payload or {}
    to = as_list(payload.get("to"))
    cc = as_list(payload.get("cc"))
    now = utcnow()
    _tombstone(note, now)
    await db.execute(delete(Reaction).where(Reaction.object_ap_id == note.ap_id))
    await db.flush()
    activity = {
        "@context": AS_CONTEXT,
        "id": new_activity_id(state.settings, "delete"),
        "type": "Delete",
        "actor": actor.ap_id,
        # Mastodon wraps the id in a Tombstone; Lemmy sends a bare id. We send Mastodon's
        # shape and accept both.
        "object": {"id": note.ap_id, "type": "Tombstone"},
        "to": to,
        "cc": cc,
        "published": _fmt(now),
    }
    return await publish(db, state.settings, actor, activity)


def _tombstone(note: ApObject, when: datetime) -> None:
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


# ---------------------------------------------------------------- remote notes


def _content_of(obj: dict[str, Any]) -> str:
    content = obj.get("content")
    if isinstance(content, str) and content:
        return content
    content_map = obj.get("contentMap")
    if isinstance(content_map, dict):
        for value in content_map.values():
            if isinstance(value, str):
                return value
    return ""


def _published(obj: dict[str, Any], key: str = "published") -> datetime | None:
    value = obj.get(key)
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None


def _author_matches(obj: dict[str, Any], sender: Actor) -> bool:
    """Whether ``sender`` is the object's author (the first ``attributedTo``)."""
    authors = [id_of(a) for a in as_list(obj.get("attributedTo"))]
    return bool(authors) and authors[0] == sender.ap_id


def _store_fields(obj: ApObject, doc: dict[str, Any], author: Actor) -> None:
    doc = {k: v for k, v in doc.items() if k != "@context"}
    obj.type = str(doc.get("type"))
    name = doc.get("name")
    obj.name = plain_text(name, 500) if isinstance(name, str) and name else None
    summary = doc.get("summary")
    obj.summary = sanitize_remote_html(summary) if isinstance(summary, str) and summary else None
    obj.content_html = sanitize_remote_html(_content_of(doc))
    source = doc.get("source")
    obj.source = source.get("content") if isinstance(source, dict) else None
    url = next((id_of(u) for u in as_list(doc.get("url")) if id_of(u)), None)
    obj.url = url if url and url.startswith(("https://", "http://")) else obj.ap_id
    obj.in_reply_to = id_of(doc.get("inReplyTo"))
    context = id_of(doc.get("context")) or (
        doc.get("conversation") if isinstance(doc.get("conversation"), str) else None
    )
    obj.context = context[:2048] if context else None
    obj.visibility = visibility_from(doc.get("to"), doc.get("cc"), author.followers_url)
    obj.payload = doc


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


async def store_remote_object(
    db: AsyncSession, author: Actor, doc: dict[str, Any]
) -> ApObject | None:
    """Store (or return the stored) remote object ``doc`` written by ``author``.

    Refused (None) unless the object's id is on the author's host and the author is its
    ``attributedTo`` — anyone else's claims about an object are not trusted.
    """
    object_id = id_of(doc.get("id"))
    if not object_id or doc.get("type") not in NOTE_TYPES:
        return None
    if host_of(object_id) != host_of(author.ap_id) or not _author_matches(doc, author):
        log.info("object %s not stored: author %s does not match", object_id, author.ap_id)
        return None
    existing = await lookup_object(db, object_id)
    if existing is not None:
        return existing
    obj = ApObject(
        ap_id=object_id, local=False, attributed_to_id=author.id, payload={}, type="Note"
    )
    _store_fields(obj, doc, author)
    obj.published = _published(doc) or utcnow()
    db.add(obj)
    await db.flush()
    memo = db.info.get(OBJECT_MEMO)
    if memo is not None:
        memo[object_id] = obj
    return obj


async def _fetch_json(state: AppState, url: str) -> dict[str, Any]:
    return await get_federation(state).fetcher.fetch_json(url)


async def get_or_fetch_object(db: AsyncSession, state: AppState, ap_id: str) -> ApObject:
    """An object by id: from our table, else fetched from its origin and stored.

    Raises NotFound when it cannot be fetched or is not a post we can store.
    """
    obj = await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))
    if obj is not None:
        return obj
    if host_of(ap_id) == state.settings.host:
        raise NotFound("This note does not exist.")
    try:
        doc = await _fetch_json(state, ap_id)
        author_id = next((id_of(a) for a in as_list(doc.get("attributedTo")) if id_of(a)), None)
        if not author_id:
            raise NotFound("This object has no author.")
        author = await get_or_fetch_actor(state, db, author_id)
    except (FetchError, ActorUnavailable) as exc:
        log.warning("fetch of %s failed: %r", ap_id, exc)
        raise NotFound("This object could not be fetched.") from exc
    stored = await store_remote_object(db, author, doc)
    if stored is None:
        raise NotFound("This object could not be fetched.")
    return stored


async def receive_create(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> Any:
    """Handle ``Create`` from ``sender``: check it, then hand the object to its receiver.

    The object must live on the sender's host. A bare id is fetched from its origin; so is
    an embedded copy whose id is on another host (it would then not be the sender's to
    create, and is refused). The receiver is chosen by object type from
    ``object_receivers.OBJECT_RECEIVERS`` (notes register Note/Article/Page/Question here;
    other features register their own types). Returns what the receiver stored, or None.
    """
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id:
        return None
    if host_of(object_id) != host_of(sender.ap_id):
        log.info("Create %s of a foreign object %s ignored", activity.get("id"), object_id)
        return None
    existing = await lookup_object(db, object_id)
    if existing is not None:
        # A redelivery, or our own note reaching a local recipient (e.g. a local tribe).
        doc = obj if isinstance(obj, dict) and not existing.local else (existing.payload or {})
    elif isinstance(obj, dict):
        doc = obj
    else:
        doc = await _fetch_json(state, object_id)
    receiver = receiver_for(doc)
    if receiver is None:
        return None
    return await receiver(db, state, sender, activity, doc)


@register_object_receiver(*sorted(NOTE_TYPES), default=True)
async def receive_post(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any],
    doc: dict[str, Any],
) -> ApObject | None:
    """Store a note-like object once (sanitised), then let the tribes it belongs to take it.

    A post addressed to a local tribe, or a reply in a tribe thread, is routed by
    ``tribe_inbound.route_post`` (announced, or held for the moderators).
    """
    from fedi.federation.incoming.tribes import route_post

    object_id = id_of(doc.get("id"))
    stored = await lookup_object(db, object_id) if object_id else None
    if stored is None:
        stored = await store_remote_object(db, sender, doc)
    if stored is None:
        return None
    await route_post(db, state, sender, activity, stored)
    return stored


async def receive_update(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Update``: a note edited by its author, or the sender's own actor document."""
    obj = activity.get("object")
    object_id = id_of(obj)
    if not object_id:
        return
    if object_id == sender.ap_id:
        if not sender.local:
            await get_or_fetch_actor(state, db, sender.ap_id, refresh=True)
        return
    if isinstance(obj, dict) and obj.get("type") in ACTOR_TYPES:
        return  # an update of some other actor: not the sender's to make
    existing = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if existing is None or existing.deleted_at is not None:
        return
    if existing.attributed_to_id != sender.id or host_of(object_id) != host_of(sender.ap_id):
        log.info("Update of %s by %s refused: not the author", object_id, sender.ap_id)
        return
    if not existing.local:
        if not isinstance(obj, dict):
            obj = await _fetch_json(state, object_id)
        if not _author_matches(obj, sender) or obj.get("type") not in NOTE_TYPES:
            return
        _store_fields(existing, obj, sender)
        existing.updated = _published(obj, "updated") or utcnow()
        await db.flush()
    await _tribes_take(db, state, sender, activity, object_id)


async def _tribes_take(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any], object_id: str
) -> None:
    """Let the tribes that have ``object_id`` as a post announce this edit or deletion."""
    from fedi.federation.incoming.tribes import route_object_activity

    await route_object_activity(db, state.settings, sender, activity, object_id)


async def receive_delete(
    db: AsyncSession, state: AppState, sender: Actor, activity: dict[str, Any]
) -> None:
    """Handle ``Delete``: of a note by its author (keep a Tombstone), or of the sender itself.

    A deleted actor is marked gone, its follows in both directions are dropped and its
    notes are tombstoned, so nothing is delivered to it any more.
    """
    object_id = id_of(activity.get("object"))
    if not object_id:
        return
    now = utcnow()
    if object_id == sender.ap_id:
        if sender.local:
            return
        sender.gone_at = now
        await drop_follows_of(db, sender)
        await db.execute(delete(Reaction).where(Reaction.actor_id == sender.id))
        notes = (
            await db.scalars(
                select(ApObject).where(
                    ApObject.attributed_to_id == sender.id, ApObject.deleted_at.is_(None)
                )
            )
        ).all()
        for note in notes:
            _tombstone(note, now)
        await db.flush()
        return
    existing = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
    if existing is None:
        return
    if existing.attributed_to_id != sender.id:
        # Lemmy moderators remove a post with a Delete of someone else's object; a tribe
        # honours it when the sender moderates a tribe the post is in.
        from fedi.federation.incoming.tribes import receive_moderator_delete

        if not await receive_moderator_delete(db, state, sender, object_id):
            log.info("Delete of %s by %s refused: not the author", object_id, sender.ap_id)
        return
    if existing.deleted_at is None and not existing.local:
        _tombstone(existing, now)
        await db.execute(delete(Reaction).where(Reaction.object_ap_id == object_id))
        await db.flush()
    # Our own deletions reach local tribes this way too (delete_note tombstoned already).
    await _tribes_take(db, state, sender, activity, object_id)


# ---------------------------------------------------------------- reading


async def can_see(db: AsyncSession, viewer: Actor | None, obj: ApObject) -> bool:
    """Whether ``viewer`` (None: anonymous) may see ``obj`` under its visibility."""
    if obj.visibility in ("public", "unlisted"):
        return True
    if viewer is None or obj.attributed_to_id is None:
        return False
    author = await db.get(Actor, obj.attributed_to_id)
    if author is None:
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
