"""Your data: everything about one local person, gathered and written as a ZIP archive.

The archive is shaped like Mastodon's "Request your archive" download, so tools that read
that format read ours:

- ``actor.json``: the ``Person`` document exactly as served at the actor's id;
- ``outbox.json``: an ``OrderedCollection`` of every activity the person published, newest
  first; a ``Create`` carries the current version of its object (a deleted one is its
  ``Tombstone``), and an object with no stored ``Create`` gets one under the id
  ``<object id>/activity`` (as Mastodon names them);
- ``likes.json``: an ``OrderedCollection`` of the ids of the objects they liked;
- ``following_accounts.csv``: Mastodon's follow export (``Account address,Show boosts,
  Notify on new posts,Languages``), which Mastodon's own import reads;
- ``followers.json``: an ``OrderedCollection`` of the ids of their (accepted) followers.

And in a shape of our own (documented in the README):

- ``tribes.json``: ``{"tribes": [{id, slug, name, role, state, joined_at}]}``;
- ``initiatives.json``: ``{"created": [...], "partnerships": [...], "contributions":
  [...], "comments": [...], "updates": [...]}`` of initiatives they started, take part in,
  offered work to, and wrote in;
- ``media/``: their uploads (avatar, images of tribes and initiatives they made), under the
  stored name (``media/avatars/<hex>.png``);
- ``index.html``: a readable page (rendered by the web layer) linking to the above.

:func:`collect_archive` reads everything in one short read-only session; :func:`write_archive`
then writes the ZIP to a file object (media are copied from disk, never held in memory).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import media
from fedi.domain.talents import ensure_talents_loaded
from fedi.federation.documents.actors import person_document
from fedi.settings import Settings
from models import (
    Actor,
    ApObject,
    Comment,
    Contribution,
    Follow,
    Initiative,
    InitiativePartner,
    InitiativeUpdate,
    OutboxActivity,
    Reaction,
    Tribe,
    TribeMember,
)

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
# Mastodon's header for follow exports and imports (app/models/export.rb in Mastodon).
FOLLOWING_CSV_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]

__all__ = [
    "AS_CONTEXT",
    "FOLLOWING_CSV_HEADER",
    "Archive",
    "ArchivePost",
    "collect_archive",
    "write_archive",
]


@dataclass
class ArchivePost:
    """One authored object as the readable index shows it."""

    ap_id: str
    type: str
    published: datetime
    visibility: str
    summary: str | None
    content_html: str
    in_reply_to: str | None
    deleted: bool


@dataclass
class Archive:
    """Everything that goes into one person's archive, read from the database."""

    username: str
    handle: str
    display_name: str
    bio_html: str
    actor: dict[str, Any]
    outbox: list[dict[str, Any]]
    posts: list[ArchivePost]
    likes: list[str]
    following: list[str]
    followers: list[str]
    tribes: list[dict[str, Any]]
    initiatives: dict[str, list[dict[str, Any]]]
    # Archive name ("media/avatars/<hex>.png") -> the stored file.
    media: dict[str, Path] = field(default_factory=dict)
    avatar: str | None = None

    def files(self) -> dict[str, str]:
        """The JSON and CSV members of the archive, by name (media and index aside)."""
        return {
            "actor.json": _json(self.actor),
            "outbox.json": _json(_collection("outbox.json", self.outbox)),
            "likes.json": _json(_collection("likes.json", self.likes)),
            "followers.json": _json(_collection("followers.json", self.followers)),
            "following_accounts.csv": _following_csv(self.following),
            "tribes.json": _json({"tribes": self.tribes}),
            "initiatives.json": _json(self.initiatives),
        }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return _when(value) or ""
    raise TypeError(f"not JSON: {type(value).__name__}")


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _collection(name: str, items: list[Any]) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT, "id": name, "type": "OrderedCollection",
        "totalItems": len(items), "orderedItems": items,
    }


def _following_csv(handles: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOLLOWING_CSV_HEADER)
    for handle in handles:
        writer.writerow([handle, "true", "false", ""])
    return out.getvalue()


def _media_name(relative: str) -> str:
    return f"media/{relative}"


async def collect_archive(db: AsyncSession, settings: Settings, actor: Actor) -> Archive:
    """Read everything about the local ``actor`` for their archive (no writes)."""
    await ensure_talents_loaded(db, actor)
    found_media: dict[str, Path] = {}

    def add_media(relative: str | None) -> str | None:
        path = media.upload_path(settings, relative) if relative else None
        if path is None or relative is None or not path.is_file():
            return None
        name = _media_name(relative)
        found_media[name] = path
        return name

    avatar = add_media(actor.avatar_path)
    objects = (await db.scalars(
        select(ApObject).where(ApObject.attributed_to_id == actor.id)
        .order_by(ApObject.published.desc(), ApObject.id.desc())
    )).all()
    return Archive(
        username=actor.username,
        handle=actor.handle,
        display_name=actor.display_name,
        bio_html=actor.bio_html,
        actor=person_document(settings, actor),
        outbox=await _outbox(db, actor, objects),
        posts=[_post(obj) for obj in objects],
        likes=list((await db.scalars(
            select(Reaction.object_ap_id).where(Reaction.actor_id == actor.id,
                                                Reaction.kind == "Like")
            .order_by(Reaction.created_at.desc(), Reaction.id.desc())
        )).all()),
        following=await _following(db, actor),
        followers=list((await db.scalars(
            select(Actor.ap_id).join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == actor.id, Follow.accepted.is_(True))
            .order_by(Follow.created_at.desc(), Follow.id.desc())
        )).all()),
        tribes=await _tribes(db, actor, add_media),
        initiatives=await _initiatives(db, actor, add_media),
        media=found_media,
        avatar=avatar,
    )


def _post(obj: ApObject) -> ArchivePost:
    return ArchivePost(
        ap_id=obj.ap_id, type=obj.type, published=obj.published, visibility=obj.visibility,
        summary=obj.summary, content_html=obj.content_html, in_reply_to=obj.in_reply_to,
        deleted=obj.deleted_at is not None,
    )


async def _outbox(
    db: AsyncSession, actor: Actor, objects: Sequence[ApObject]
) -> list[dict[str, Any]]:
    """The person's activities, newest first, each ``Create`` with its object's current form."""
    by_id = {obj.ap_id: obj for obj in objects}
    rows = (await db.scalars(
        select(OutboxActivity).where(OutboxActivity.actor_id == actor.id)
        .order_by(OutboxActivity.created_at.desc(), OutboxActivity.id.desc())
    )).all()
    items: list[tuple[datetime, dict[str, Any]]] = []
    created: set[str] = set()
    for row in rows:
        activity = dict(row.payload)
        activity.pop("@context", None)
        # Some activities (Like, Follow) carry no date of their own; readers sort by it.
        activity.setdefault("published", _when(row.created_at))
        obj = by_id.get(row.object_ap_id or "") if row.type == "Create" else None
        if obj is not None:
            activity["object"] = obj.payload
            created.add(obj.ap_id)
        items.append((row.created_at, activity))
    for obj in objects:
        if obj.ap_id in created:
            continue
        payload = obj.payload
        items.append((obj.published, {
            "id": f"{obj.ap_id}/activity", "type": "Create", "actor": actor.ap_id,
            "published": _when(obj.published), "to": payload.get("to", []),
            "cc": payload.get("cc", []), "object": payload,
        }))
    items.sort(key=lambda pair: pair[0], reverse=True)
    return [activity for _when_, activity in items]


async def _following(db: AsyncSession, actor: Actor) -> list[str]:
    rows = (await db.scalars(
        select(Actor).join(Follow, Follow.followed_id == Actor.id)
        .where(Follow.follower_id == actor.id, Follow.accepted.is_(True))
        .order_by(Follow.created_at, Follow.id)
    )).all()
    return [followed.handle for followed in rows]


AddMedia = Callable[[str | None], str | None]


async def _tribes(db: AsyncSession, actor: Actor, add_media: AddMedia) -> list[dict[str, Any]]:
    rows = (await db.execute(
        select(TribeMember, Tribe).join(Tribe, Tribe.id == TribeMember.tribe_id)
        .where(TribeMember.actor_id == actor.id).order_by(TribeMember.created_at)
    )).all()
    tribes = []
    for member, tribe in rows:
        image = add_media(tribe.image_path) if tribe.created_by_id == actor.id else None
        tribes.append({
            "id": tribe.actor.ap_id, "slug": tribe.slug, "name": tribe.name,
            "role": member.role, "state": member.state,
            "joined_at": _when(member.joined_at), "image": image,
        })
    return tribes


async def _initiatives(
    db: AsyncSession, actor: Actor, add_media: AddMedia
) -> dict[str, list[dict[str, Any]]]:
    created = (await db.scalars(
        select(Initiative).where(Initiative.creator_id == actor.id)
        .order_by(Initiative.created_at)
    )).all()
    partners = (await db.execute(
        select(InitiativePartner, Initiative)
        .join(Initiative, Initiative.id == InitiativePartner.initiative_id)
        .where(InitiativePartner.actor_id == actor.id).order_by(InitiativePartner.requested_at)
    )).all()
    contributions = (await db.execute(
        select(Contribution, Initiative)
        .join(Initiative, Initiative.id == Contribution.initiative_id)
        .where(Contribution.actor_id == actor.id).order_by(Contribution.created_at)
    )).all()
    comments = (await db.execute(
        select(Comment, Initiative).join(Initiative, Initiative.id == Comment.initiative_id)
        .where(Comment.author_id == actor.id).order_by(Comment.created_at)
    )).all()
    updates = (await db.execute(
        select(InitiativeUpdate, Initiative)
        .join(Initiative, Initiative.id == InitiativeUpdate.initiative_id)
        .where(InitiativeUpdate.actor_id == actor.id, InitiativeUpdate.content_html != "")
        .order_by(InitiativeUpdate.created_at)
    )).all()
    return {
        "created": [
            {"id": item.ap_id, "name": item.name, "summary": item.summary,
             "description": item.description_html, "phase": item.phase,
             "tribe": item.tribe.slug, "created_at": _when(item.created_at),
             "deleted": item.deleted_at is not None, "image": add_media(item.image_path)}
            for item in created
        ],
        "partnerships": [
            {"initiative": initiative.ap_id, "name": initiative.name, "role": row.role,
             "state": row.state, "since": _when(row.since)}
            for row, initiative in partners
        ],
        "contributions": [
            {"id": row.ap_id, "initiative": initiative.ap_id, "name": initiative.name,
             "hours": row.hours, "resources": row.resources, "motivation": row.motivation,
             "state": row.state, "created_at": _when(row.created_at)}
            for row, initiative in contributions
        ],
        "comments": [
            {"id": row.ap_id, "initiative": initiative.ap_id, "content": row.content_html,
             "inReplyTo": row.in_reply_to_ap_id, "created_at": _when(row.created_at),
             "deleted": row.deleted_at is not None}
            for row, initiative in comments
        ],
        "updates": [
            {"id": row.ap_id, "initiative": initiative.ap_id, "kind": row.kind,
             "content": row.content_html, "created_at": _when(row.created_at)}
            for row, initiative in updates
        ],
    }


def write_archive(archive: Archive, index_html: str, target: IO[bytes]) -> None:
    """Write ``archive`` as a ZIP to ``target`` (a file: media are copied from disk).

    Blocking (compression and file I/O): call it in a worker thread.
    """
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive_zip:
        for name, text in archive.files().items():
            archive_zip.writestr(name, text)
        for name, path in sorted(archive.media.items()):
            # Images are compressed already; storing them saves time and nothing else.
            archive_zip.write(path, name, compress_type=zipfile.ZIP_STORED)
        archive_zip.writestr("index.html", index_html)

