"""The Mastodon ``Status`` entity: our notes, boosts and initiatives as apps read them.

Apps parse statuses strictly (Tusky and Ivory crash on a missing key), so every field of
Mastodon 4.3's Status is always present, nullable ones as ``null``. Three kinds of rows are
shown as statuses (ids: :mod:`fedi.http.mastodon.status_ids`):

* a note (``ApObject``, ours or another server's, of any type Mastodon shows as a post);
* a boost (a ``Reaction`` of kind ``Announce``), as a status whose ``reblog`` is the note.
  A tribe's boost of its members' posts is such a row too, so a tribe's distributed posts
  appear as the tribe's reblogs, the way Mastodon shows a Lemmy community's;
* an initiative, the way Mastodon shows a ``Page`` from Lemmy or Friendica: its name in bold
  as the first line, the summary and description after it, its picture as an image
  attachment and a link card to its page; favouriting it is supporting it, as a
  Mastodon ``Like`` of the initiative's ``Page`` is.

Rendering goes through :func:`render_statuses`, which reads what a page of statuses needs
(authors, counts, the viewer's favourites/boosts/bookmarks, media, parents) in a handful of
statements instead of a few per status.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list
from fedi.domain import media
from fedi.domain.talents import ensure_talents_loaded
from fedi.http.mastodon import status_ids
from fedi.http.mastodon.account_entity import account_entity
from fedi.http.mastodon.common import iso_ms
from fedi.settings import Settings
from fedi.text import plain_text
from models import (
    Actor,
    ApObject,
    Bookmark,
    Initiative,
    InitiativeSupporter,
    MediaAttachment,
    Reaction,
)

__all__ = [
    "StatusItem",
    "account_of",
    "initiative_status_id",
    "media_entity",
    "note_status_id",
    "reblog_status_id",
    "render_status",
    "render_statuses",
]

# Our visibilities and Mastodon's: "followers" is Mastodon's "private".
VISIBILITY_TO_MASTODON = {
    "public": "public",
    "unlisted": "unlisted",
    "followers": "private",
    "direct": "direct",
}
VISIBILITY_FROM_MASTODON = {value: key for key, value in VISIBILITY_TO_MASTODON.items()}


@dataclass(frozen=True)
class StatusItem:
    """One row shown as a status: a note, a boost of ``note``, or an initiative."""

    kind: int
    note: ApObject | None = None
    reaction: Reaction | None = None
    initiative: Initiative | None = None

    @property
    def id(self) -> str:
        """The status id of this row."""
        if self.kind == status_ids.REBLOG and self.reaction is not None:
            return reblog_status_id(self.reaction)
        if self.kind == status_ids.INITIATIVE and self.initiative is not None:
            return initiative_status_id(self.initiative)
        if self.note is not None:
            return note_status_id(self.note)
        raise ValueError("an empty status item")


async def account_of(db: AsyncSession, settings: Settings, actor: Actor) -> dict[str, Any]:
    """The Account entity of ``actor``, its talents (profile fields) loaded first: a row
    read with ``lazyload`` (the site search does so) cannot load them later under asyncio."""
    await ensure_talents_loaded(db, actor)
    return await account_entity(db, settings, actor)


def note_status_id(note: ApObject) -> str:
    """The status id of a note."""
    return status_ids.encode(status_ids.NOTE, note.id, note.published)


def reblog_status_id(reaction: Reaction) -> str:
    """The status id of a boost."""
    return status_ids.encode(status_ids.REBLOG, reaction.id, reaction.created_at)


def initiative_status_id(initiative: Initiative) -> str:
    """The status id of an initiative."""
    return status_ids.encode(status_ids.INITIATIVE, initiative.id, initiative.created_at)


def media_entity(settings: Settings, row: MediaAttachment) -> dict[str, Any]:
    """A ``MediaAttachment`` entity for one of our uploads."""
    url = media.media_url(settings, row.path)
    meta: dict[str, Any] = {"focus": {"x": row.focus_x, "y": row.focus_y}}
    if row.width and row.height:
        size = {
            "width": row.width, "height": row.height,
            "size": f"{row.width}x{row.height}", "aspect": row.width / row.height,
        }
        meta["original"] = dict(size)
        meta["small"] = dict(size)
    return {
        "id": str(row.id),
        "type": _media_kind(row.media_type),
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": row.description or None,
        "blurhash": None,
    }


def _media_kind(media_type: str | None) -> str:
    """Mastodon's attachment ``type`` for a media type (gifs are images here: never
    transcoded to video)."""
    major = (media_type or "").split("/", 1)[0].lower()
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "unknown")


def _remote_media(note: ApObject) -> list[dict[str, Any]]:
    """Attachments of another server's post, from its stored document."""
    out: list[dict[str, Any]] = []
    for index, item in enumerate(as_list((note.payload or {}).get("attachment"))[:8]):
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        if isinstance(url, list):
            url = next((u.get("href") if isinstance(u, dict) else u for u in url), None)
        elif isinstance(url, dict):
            url = url.get("href")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        if item.get("type") == "PropertyValue":
            continue
        width, height = item.get("width"), item.get("height")
        meta: dict[str, Any] = {}
        if isinstance(width, int) and isinstance(height, int) and width and height:
            size = {"width": width, "height": height, "size": f"{width}x{height}",
                    "aspect": width / height}
            meta = {"original": size, "small": dict(size)}
        kind = _media_kind(item.get("mediaType"))
        if kind == "unknown" and item.get("type") in ("Image", "Video", "Audio"):
            kind = str(item["type"]).lower()
        # A stable id that cannot be mistaken for one of our uploads' ids (digits only).
        digest = hashlib.sha256(f"{note.id}:{index}:{url}".encode()).hexdigest()[:12]
        name = item.get("name")
        out.append({
            "id": f"r{note.id}-{digest}",
            "type": kind,
            "url": url,
            "preview_url": url,
            "remote_url": url,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": name if isinstance(name, str) and name else None,
            "blurhash": item.get("blurhash") if isinstance(item.get("blurhash"), str) else None,
        })
    return out


def _tags(settings: Settings, payload: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tag in as_list(payload.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Hashtag":
            name = str(tag.get("name") or "").lstrip("#")
            if name:
                out.append({"name": name.lower(), "url": settings.url(f"/tags/{name.lower()}")})
    return out


def _emojis(payload: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tag in as_list(payload.get("tag")):
        if not isinstance(tag, dict) or tag.get("type") != "Emoji":
            continue
        icon = tag.get("icon")
        url = icon.get("url") if isinstance(icon, dict) else None
        name = str(tag.get("name") or "").strip(":")
        if name and isinstance(url, str) and url.startswith(("https://", "http://")):
            out.append({"shortcode": name, "url": url, "static_url": url,
                        "visible_in_picker": False})
    return out


def _language(payload: dict[str, Any]) -> str | None:
    content_map = payload.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        first = next(iter(content_map))
        return str(first)[:8] if first else None
    return None


def _poll(note: ApObject, voted: bool) -> dict[str, Any] | None:
    """A ``Question`` (Mastodon's polls) as a read-only Poll entity, from its document."""
    payload = note.payload or {}
    if note.type != "Question":
        return None
    multiple = "anyOf" in payload
    raw = payload.get("anyOf") if multiple else payload.get("oneOf")
    options = []
    for option in as_list(raw)[:20]:
        if isinstance(option, dict) and isinstance(option.get("name"), str):
            replies = option.get("replies")
            count = replies.get("totalItems") if isinstance(replies, dict) else None
            options.append({"title": option["name"][:200],
                            "votes_count": count if isinstance(count, int) else None})
    if not options:
        return None
    end = payload.get("endTime") or payload.get("closed")
    votes = sum(o["votes_count"] or 0 for o in options)
    voters = payload.get("votersCount")
    return {
        "id": str(note.id),
        "expires_at": end if isinstance(end, str) else None,
        "expired": bool(payload.get("closed")),
        "multiple": multiple,
        "votes_count": votes,
        "voters_count": voters if isinstance(voters, int) else None,
        "options": options,
        "emojis": [],
        "voted": voted,
        "own_votes": [],
    }


@dataclass
class _Batch:
    """What rendering a page of statuses needs, read once for all of them."""

    accounts: dict[int, dict[str, Any]]
    actors: dict[int, Actor]
    actors_by_ap_id: dict[str, Actor]
    counts: dict[tuple[str, str], int]
    replies: dict[str, int]
    mine: set[tuple[str, str]]
    bookmarked: set[str]
    own_media: dict[str, list[MediaAttachment]]
    parents: dict[str, ApObject]


async def _read_batch(
    db: AsyncSession, settings: Settings, viewer: Actor | None, notes: Sequence[ApObject],
    extra_actor_ids: Iterable[int],
) -> _Batch:
    ap_ids = sorted({n.ap_id for n in notes})
    parent_ids = sorted({n.in_reply_to for n in notes if n.in_reply_to})
    parents = {
        p.ap_id: p
        for p in (await db.scalars(select(ApObject).where(ApObject.ap_id.in_(parent_ids)))).all()
    } if parent_ids else {}
    mention_ids: set[str] = set()
    for note in notes:
        for tag in as_list((note.payload or {}).get("tag")):
            if isinstance(tag, dict) and tag.get("type") == "Mention" and tag.get("href"):
                mention_ids.add(str(tag["href"]))
    actor_ids = {n.attributed_to_id for n in notes if n.attributed_to_id} | set(extra_actor_ids)
    actor_ids |= {p.attributed_to_id for p in parents.values() if p.attributed_to_id}
    actors = {
        a.id: a for a in (await db.scalars(select(Actor).where(Actor.id.in_(actor_ids)))).all()
    } if actor_ids else {}
    by_ap_id = {
        a.ap_id: a
        for a in (await db.scalars(select(Actor).where(Actor.ap_id.in_(sorted(mention_ids))))).all()
    } if mention_ids else {}
    counts: dict[tuple[str, str], int] = {}
    replies: dict[str, int] = {}
    mine: set[tuple[str, str]] = set()
    bookmarked: set[str] = set()
    own_media: dict[str, list[MediaAttachment]] = {}
    if ap_ids:
        for object_ap_id, kind, count in (
            await db.execute(
                select(Reaction.object_ap_id, Reaction.kind, func.count(Reaction.id))
                .where(Reaction.object_ap_id.in_(ap_ids))
                .group_by(Reaction.object_ap_id, Reaction.kind)
            )
        ).all():
            counts[(object_ap_id, kind)] = int(count)
        for parent_ap_id, count in (
            await db.execute(
                select(ApObject.in_reply_to, func.count(ApObject.id))
                .where(ApObject.in_reply_to.in_(ap_ids), ApObject.deleted_at.is_(None))
                .group_by(ApObject.in_reply_to)
            )
        ).all():
            replies[str(parent_ap_id)] = int(count)
        for row in (
            await db.scalars(
                select(MediaAttachment)
                .where(MediaAttachment.object_ap_id.in_(ap_ids))
                .order_by(MediaAttachment.id)
            )
        ).all():
            own_media.setdefault(row.object_ap_id or "", []).append(row)
        if viewer is not None:
            mine = {
                (object_ap_id, kind)
                for object_ap_id, kind in (
                    await db.execute(
                        select(Reaction.object_ap_id, Reaction.kind).where(
                            Reaction.actor_id == viewer.id, Reaction.object_ap_id.in_(ap_ids)
                        )
                    )
                ).all()
            }
            bookmarked = set(
                (
                    await db.scalars(
                        select(Bookmark.object_ap_id).where(
                            Bookmark.actor_id == viewer.id, Bookmark.object_ap_id.in_(ap_ids)
                        )
                    )
                ).all()
            )
    return _Batch({}, actors, by_ap_id, counts, replies, mine, bookmarked, own_media, parents)


async def _account(
    db: AsyncSession, settings: Settings, batch: _Batch, actor_id: int | None
) -> dict[str, Any] | None:
    if actor_id is None:
        return None
    if actor_id not in batch.accounts:
        actor = batch.actors.get(actor_id) or await db.get(Actor, actor_id)
        if actor is None:
            return None
        batch.actors[actor_id] = actor
        batch.accounts[actor_id] = await account_of(db, settings, actor)
    return batch.accounts[actor_id]


def _content(note: ApObject) -> str:
    html = note.content_html or ""
    # A Page or Article with a title (Lemmy, WordPress): Mastodon shows the name first.
    if note.type in ("Page", "Article", "Event") and note.name:
        html = f"<p><strong>{_escape(note.name)}</strong></p>{html}"
    return html


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;")
    )


async def _note_status(
    db: AsyncSession, settings: Settings, viewer: Actor | None, batch: _Batch, note: ApObject
) -> dict[str, Any] | None:
    account = await _account(db, settings, batch, note.attributed_to_id)
    if account is None:
        return None
    payload = note.payload or {}
    parent = batch.parents.get(note.in_reply_to or "")
    mentions = []
    for tag in as_list(payload.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Mention":
            actor = batch.actors_by_ap_id.get(str(tag.get("href")))
            if actor is not None:
                mentions.append({
                    "id": str(actor.id),
                    "username": actor.username,
                    "url": actor.url or actor.ap_id,
                    "acct": actor.username if actor.local else actor.handle,
                })
    if note.local:
        attachments = [media_entity(settings, row) for row in batch.own_media.get(note.ap_id, [])]
    else:
        attachments = _remote_media(note)
    summary = note.summary or ""
    sensitive = bool(payload.get("sensitive")) or bool(summary)
    return {
        "id": note_status_id(note),
        "uri": note.ap_id,
        "url": note.url or note.ap_id,
        "created_at": iso_ms(note.published),
        "edited_at": iso_ms(note.updated) if note.updated else None,
        "account": account,
        "content": _content(note),
        "text": None,
        "visibility": VISIBILITY_TO_MASTODON.get(note.visibility, "public"),
        "sensitive": sensitive,
        "spoiler_text": plain_text(summary) if "<" in summary else summary,
        "media_attachments": attachments,
        "mentions": mentions,
        "tags": _tags(settings, payload),
        "emojis": _emojis(payload),
        "reblogs_count": batch.counts.get((note.ap_id, "Announce"), 0),
        "favourites_count": batch.counts.get((note.ap_id, "Like"), 0),
        "replies_count": batch.replies.get(note.ap_id, 0),
        "in_reply_to_id": note_status_id(parent) if parent is not None else None,
        "in_reply_to_account_id": (
            str(parent.attributed_to_id) if parent is not None and parent.attributed_to_id
            else None
        ),
        "reblog": None,
        "poll": _poll(note, False),
        "card": None,
        "language": _language(payload),
        "favourited": (note.ap_id, "Like") in batch.mine,
        "reblogged": (note.ap_id, "Announce") in batch.mine,
        "bookmarked": note.ap_id in batch.bookmarked,
        "muted": False,
        "pinned": False,
        "filtered": [],
        "application": None,
    }


async def _initiative_status(
    db: AsyncSession, settings: Settings, viewer: Actor | None, batch: _Batch,
    initiative: Initiative,
) -> dict[str, Any] | None:
    author_id = initiative.creator_id or initiative.tribe.actor_id
    account = await _account(db, settings, batch, author_id)
    if account is None:
        return None
    page = initiative.ap_id or settings.url(f"/initiatives/{initiative.id}")
    web = settings.url(f"/initiatives/{initiative.id}") if initiative.local else page
    head = f"<p><strong>{_escape(initiative.name)}</strong></p>"
    if initiative.summary:
        head += f"<p>{_escape(initiative.summary)}</p>"
    attachments: list[dict[str, Any]] = []
    image_url = None
    if initiative.image_path:
        image_url = media.media_url(settings, initiative.image_path)
        attachments.append({
            "id": f"i{initiative.id}", "type": "image", "url": image_url,
            "preview_url": image_url, "remote_url": None, "preview_remote_url": None,
            "text_url": None, "meta": {}, "description": initiative.name, "blurhash": None,
        })
    card = {
        "url": web, "title": initiative.name, "description": initiative.summary or "",
        "type": "link", "author_name": "", "author_url": "", "provider_name": settings.host,
        "provider_url": settings.base_url, "html": "", "width": 0, "height": 0,
        "image": image_url, "image_description": "", "embed_url": "", "blurhash": None,
        "language": None, "published_at": None, "authors": [],
    }
    # A favourite of an initiative is support (a Mastodon ``Like{Page}`` is, too).
    supporters = await db.scalar(
        select(func.count(InitiativeSupporter.id)).where(
            InitiativeSupporter.initiative_id == initiative.id
        )
    )
    supported = viewer is not None and await db.scalar(
        select(InitiativeSupporter.id).where(
            InitiativeSupporter.initiative_id == initiative.id,
            InitiativeSupporter.actor_id == viewer.id,
        )
    ) is not None
    tags = [
        {"name": str(t).replace(" ", "_").lower(),
         "url": settings.url(f"/tags/{str(t).replace(' ', '_').lower()}")}
        for t in (initiative.tags or [])
    ]
    return {
        "id": initiative_status_id(initiative),
        "uri": page,
        "url": web,
        "created_at": iso_ms(initiative.created_at),
        "edited_at": None,
        "account": account,
        "content": head + (initiative.description_html or ""),
        "text": None,
        "visibility": "public" if initiative.visibility == "public" else "private",
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": attachments,
        "mentions": [],
        "tags": tags,
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": int(supporters or 0),
        "replies_count": 0,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog": None,
        "poll": None,
        "card": card,
        "language": initiative.tribe.language or None,
        "favourited": supported,
        "reblogged": False,
        "bookmarked": False,
        "muted": False,
        "pinned": False,
        "filtered": [],
        "application": None,
    }


async def render_statuses(
    db: AsyncSession, settings: Settings, viewer: Actor | None, items: Sequence[StatusItem]
) -> list[dict[str, Any]]:
    """Status entities for ``items``, in order; items whose author is gone are left out.

    The caller has checked that ``viewer`` may see each item.
    """
    notes = [item.note for item in items if item.note is not None]
    boosters = [item.reaction.actor_id for item in items if item.reaction is not None]
    batch = await _read_batch(db, settings, viewer, notes, boosters)
    out: list[dict[str, Any]] = []
    for item in items:
        if item.kind == status_ids.INITIATIVE and item.initiative is not None:
            entity = await _initiative_status(db, settings, viewer, batch, item.initiative)
        elif item.note is None:
            continue
        else:
            entity = await _note_status(db, settings, viewer, batch, item.note)
            if entity is not None and item.kind == status_ids.REBLOG and item.reaction:
                entity = await _reblog_of(db, settings, batch, item.reaction, entity)
        if entity is not None:
            out.append(entity)
    return out


async def _reblog_of(
    db: AsyncSession, settings: Settings, batch: _Batch, reaction: Reaction,
    inner: dict[str, Any],
) -> dict[str, Any] | None:
    """The wrapper status of a boost: the booster's, with the boosted note as ``reblog``."""
    account = await _account(db, settings, batch, reaction.actor_id)
    if account is None:
        return None
    return {
        **inner,
        "id": reblog_status_id(reaction),
        "uri": reaction.activity_ap_id,
        "url": None,
        "created_at": iso_ms(reaction.created_at),
        "edited_at": None,
        "account": account,
        "content": "",
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "poll": None,
        "card": None,
        "language": None,
        "pinned": False,
        "reblog": inner,
    }


async def render_status(
    db: AsyncSession, settings: Settings, viewer: Actor | None, item: StatusItem
) -> dict[str, Any] | None:
    """One status entity (None when its author is gone)."""
    found = await render_statuses(db, settings, viewer, [item])
    return found[0] if found else None
