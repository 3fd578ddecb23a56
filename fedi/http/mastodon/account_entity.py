"""The Mastodon ``Account`` entity for local people, remote actors and tribes.

Apps parse this strictly (Ivory, Tusky and Mona crash on a missing key), so every field
Mastodon 4.3 sends is present, nullable ones as ``null``. A tribe (a ``Group`` actor) is an
Account with ``group: true``, ``locked`` when joining needs approval or an invitation, and
its active members as followers (following a tribe is joining it). Talents appear as a
profile field; the location and links too.
"""

from __future__ import annotations

from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import follows, profiles, tribes
from fedi.http.mastodon.common import iso_date, iso_ms
from fedi.settings import Settings
from fedi.text import sanitize_remote_html
from models import Actor, ApObject, Tribe, TribeAnnounce, TribeMember

DEFAULT_AVATAR = "/static/mastodon/avatar.png"
DEFAULT_HEADER = "/static/mastodon/header.png"
# The object types a person's statuses count is made of (what the statuses API shows).
STATUS_TYPES = ("Note", "Page", "Article", "Question", "Event")


def acct_of(actor: Actor) -> str:
    """Mastodon's ``acct``: the bare name for our own actors, ``name@host`` otherwise."""
    return actor.username if actor.local else actor.handle


def _remote_image(actor: Actor, key: str) -> str | None:
    raw = actor.raw or {}
    value = raw.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("href")
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _link_field(name: str, url: str) -> dict[str, Any]:
    shown = escape(url.split("://", 1)[-1])
    value = (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener noreferrer me">'
        f"{shown}</a>"
    )
    return {"name": name, "value": value, "verified_at": None}


def profile_fields(actor: Actor) -> list[dict[str, Any]]:
    """Talents, place and links as Mastodon profile fields (name/value HTML/verified_at)."""
    fields: list[dict[str, Any]] = []
    if actor.local:
        talents = [talent.tag for talent in actor.talents]
        if talents:
            fields.append({
                "name": "Talents", "value": escape(", ".join(talents)), "verified_at": None
            })
        if actor.location:
            fields.append({"name": "Location", "value": escape(actor.location),
                           "verified_at": None})
        for link in actor.links or []:
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                fields.append(_link_field(str(link.get("label") or "Link"), link["url"]))
        return fields[:8]
    for item in (actor.raw or {}).get("attachment") or []:
        if isinstance(item, dict) and item.get("type") == "PropertyValue":
            fields.append({
                "name": escape(str(item.get("name", "")))[:255],
                "value": sanitize_remote_html(str(item.get("value", ""))),
                "verified_at": None,
            })
    return fields[:8]


async def _person_counts(db: AsyncSession, actor: Actor) -> tuple[int, int, int, Any]:
    followers = await follows.count_followers(db, actor)
    following = await follows.count_following(db, actor)
    row = (
        await db.execute(
            select(func.count(ApObject.id), func.max(ApObject.published)).where(
                ApObject.attributed_to_id == actor.id,
                ApObject.deleted_at.is_(None),
                ApObject.type.in_(STATUS_TYPES),
            )
        )
    ).one()
    return followers, following, int(row[0] or 0), row[1]


async def _tribe_counts(db: AsyncSession, tribe: Tribe) -> tuple[int, int, int, Any]:
    members = int(
        await db.scalar(
            select(func.count(TribeMember.id)).where(
                TribeMember.tribe_id == tribe.id, TribeMember.state == "active"
            )
        )
        or 0
    )
    row = (
        await db.execute(
            select(func.count(TribeAnnounce.id), func.max(TribeAnnounce.created_at)).where(
                TribeAnnounce.tribe_id == tribe.id
            )
        )
    ).one()
    return members, 0, int(row[0] or 0), row[1]


def _remote_count(actor: Actor, key: str) -> int:
    value = (actor.raw or {}).get(key)
    if isinstance(value, dict) and isinstance(value.get("totalItems"), int):
        return max(0, int(value["totalItems"]))
    return 0


async def account_entity(
    db: AsyncSession, settings: Settings, actor: Actor, *, with_source: bool = False
) -> dict[str, Any]:
    """The Account entity for ``actor`` (``with_source`` for the person's own account)."""
    default_avatar = settings.url(DEFAULT_AVATAR)
    default_header = settings.url(DEFAULT_HEADER)
    is_group = actor.type == "Group"
    tribe = await tribes.find_tribe_by_actor(db, actor) if is_group and actor.local else None
    note = actor.bio_html or ""
    avatar = profiles.avatar_url(settings, actor)
    header: str | None = None
    locked = bool(actor.manually_approves_followers)
    if tribe is not None:
        followers, following, statuses, last = await _tribe_counts(db, tribe)
        note = tribe.description_html or (f"<p>{escape(tribe.theme)}</p>" if tribe.theme else "")
        avatar = tribes.image_url(settings, tribe) or avatar
        locked = tribe.join_mode != "open"
    elif actor.local:
        followers, following, statuses, last = await _person_counts(db, actor)
    else:
        followers, following, statuses, last = await _person_counts(db, actor)
        followers = max(followers, _remote_count(actor, "followers"))
        following = max(following, _remote_count(actor, "following"))
        statuses = max(statuses, _remote_count(actor, "outbox"))
        header = _remote_image(actor, "image")
        note = sanitize_remote_html(note) if note else ""
    if not actor.local and not avatar:
        avatar = _remote_image(actor, "icon")
    url = actor.url or actor.ap_id
    entity: dict[str, Any] = {
        "id": str(actor.id),
        "username": actor.username,
        "acct": acct_of(actor),
        "display_name": actor.display_name or "",
        "locked": locked,
        "bot": actor.type in ("Service", "Application"),
        "discoverable": bool(actor.discoverable),
        "indexable": bool(actor.discoverable),
        "group": is_group,
        "created_at": iso_ms(actor.created_at),
        "note": note,
        "url": url,
        "uri": actor.ap_id,
        "avatar": avatar or default_avatar,
        "avatar_static": avatar or default_avatar,
        "header": header or default_header,
        "header_static": header or default_header,
        "followers_count": followers,
        "following_count": following,
        "statuses_count": statuses,
        "last_status_at": iso_date(last),
        "hide_collections": False,
        "noindex": not actor.discoverable,
        "emojis": [],
        "roles": [],
        "fields": profile_fields(actor),
    }
    if actor.gone_at is not None:
        entity["suspended"] = True
    if actor.suspended_at is not None:  # suspended here or by its own server (issue 12)
        entity["suspended"] = True
    if actor.moved_to:  # moved (issue 12, FEP-7628): Mastodon nests the new account
        target = await db.scalar(select(Actor).where(Actor.ap_id == actor.moved_to))
        if target is not None and target.id != actor.id and not target.moved_to:
            entity["moved"] = await account_entity(db, settings, target)
    if with_source:
        pending = await follows.pending_requests(db, actor)
        language = (actor.languages or [None])[0]
        entity["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": language if isinstance(language, str) else None,
            "note": actor.bio_source or "",
            "fields": [
                {"name": f["name"], "value": f["value"], "verified_at": None}
                for f in entity["fields"]
            ],
            "follow_requests_count": len(pending),
            "hide_collections": False,
            "discoverable": bool(actor.discoverable),
            "indexable": bool(actor.discoverable),
            "attribution_domains": [],
        }
        entity["role"] = {
            "id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False
        }
    return entity
