"""Client-to-server profile editing: ``Update{Person}`` of one's own actor.

The same service as the web profile form (``profiles.update_profile``), so the same checks
and the same federation: the change is announced as ``Update{Person}`` to the followers
(``ProfileUpdated``). As with ``Update{Group}`` only the terms present change:

==========================================  ==============================================
term                                        profile field
==========================================  ==============================================
``name``                                    display name
``source.content`` (markdown), else         bio (``summary`` HTML is reduced to text)
``summary``
``location`` (a ``Place`` or a string)      location
``pu:languages`` / ``languages``            languages (BCP 47 codes)
``talents`` (strings) or ``tag``            talents
(``Hashtag`` names)
``attachment`` (``PropertyValue``: name,    links (the ``href`` of an HTML value, as
value) or ``url`` list of ``Link``          Mastodon sends its profile fields)
``icon`` (an ``uploadMedia`` Image id or    avatar (``icon: null`` removes it)
its url, ``outbox_media``)
``alsoKnownAs`` (actor ids or handles)      aliases, the move page's "other accounts"
                                            (``account_move.set_aliases``)
==========================================  ==============================================

``discoverable`` and the notification settings are account settings (web and Mastodon API),
not profile terms, and are ignored here.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import as_list, id_of
from fedi.domain import account_move, profiles
from fedi.domain.errors import Forbidden
from fedi.domain.talents import ensure_talents_loaded
from fedi.http.ap import outbox_media
from fedi.http.ap.outbox_common import mark, named_ids, resolve_actor, result, text_of
from fedi.state import AppState
from models import Actor, OutboxActivity

__all__ = ["aliases_to_fetch", "perform"]

# One more than the service allows, so that it is the service that refuses too many.
MAX_ALIASES_SENT = account_move.MAX_ALIASES + 1

_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _link_of(entry: Any) -> tuple[str, str] | None:
    """(label, url) of a ``PropertyValue`` (Mastodon's profile field) or a ``Link``."""
    if isinstance(entry, str):
        return ("", entry)
    if not isinstance(entry, dict):
        return None
    if entry.get("type") == "PropertyValue":
        value = str(entry.get("value") or "")
        found = _HREF.search(value)
        return (str(entry.get("name") or ""), found.group(1) if found else value.strip())
    if entry.get("type") == "Link" or "href" in entry:
        return (str(entry.get("name") or ""), str(entry.get("href") or ""))
    return None


def _talents(person: dict[str, Any]) -> list[str] | None:
    if isinstance(person.get("talents"), list):
        return [str(t) for t in person["talents"]]
    if "tag" in person:
        return [
            str(tag.get("name", "")).lstrip("#").replace("_", " ")
            for tag in as_list(person.get("tag"))
            if isinstance(tag, dict) and tag.get("type", "Hashtag") == "Hashtag"
        ]
    return None


def _values(actor: Actor, person: dict[str, Any]) -> dict[str, Any]:
    """The profile form's fields: the current ones, with the terms present replaced."""
    values: dict[str, Any] = {
        "display_name": actor.display_name or "",
        "bio": actor.bio_source or "",
        "location": actor.location or "",
        "languages": list(actor.languages or []),
        "links": [(link.label, link.url) for link in profiles.stored_links(actor)],
        "talents": [talent.tag for talent in actor.talents],
    }
    if isinstance(person.get("name"), str):
        values["display_name"] = person["name"]
    if "source" in person or "summary" in person:
        source = person.get("source")
        if isinstance(source, dict | str):
            values["bio"] = text_of(person, required=False)
        else:
            summary = person.get("summary")
            values["bio"] = (
                text_of({"content": summary}, required=False) if isinstance(summary, str) else ""
            )
    location = person.get("location")
    if isinstance(location, dict):
        values["location"] = str(location.get("name") or "")
    elif isinstance(location, str) or (location is None and "location" in person):
        values["location"] = location or ""
    for key in ("pu:languages", "languages"):
        if key in person:
            values["languages"] = [str(code) for code in as_list(person[key])]
    talents = _talents(person)
    if talents is not None:
        values["talents"] = talents
    if "attachment" in person or isinstance(person.get("url"), list):
        entries = as_list(person.get("attachment")) if "attachment" in person else as_list(
            person.get("url")
        )
        values["links"] = [link for link in map(_link_of, entries) if link is not None]
    return values


async def _update_person(
    db: AsyncSession, state: AppState, owner: Actor, person: dict[str, Any]
) -> OutboxActivity:
    if id_of(person.get("id")) not in (None, owner.ap_id):
        raise Forbidden("You can only edit your own profile.")
    settings = state.settings
    await ensure_talents_loaded(db, owner)
    values = _values(owner, person)
    before = await mark(db)
    await profiles.update_profile(db, settings, owner, **values)
    if "icon" in person:
        icon = person.get("icon")
        if icon is None:
            await profiles.remove_avatar(db, settings, owner)
        else:
            data = await outbox_media.own_upload_bytes(db, settings, owner, icon)
            if data is not None:
                await profiles.set_avatar(db, settings, owner, data)
    if "alsoKnownAs" in person:
        # Fetched beforehand (``outbox.prepare``), so this finds them without the network.
        aliases = [
            await resolve_actor(db, state, ref)
            for ref in named_ids(person.get("alsoKnownAs"))[: MAX_ALIASES_SENT]
        ]
        await account_move.set_aliases(db, state, owner, aliases)
    return await result(db, settings, before, owner, "Update", owner.ap_id)


def aliases_to_fetch(document: dict[str, Any]) -> list[str]:
    """The ``alsoKnownAs`` of an ``Update{Person}``, for fetching before the write."""
    obj = document.get("object")
    if document.get("type") != "Update" or not isinstance(obj, dict):
        return []
    if "Person" not in as_list(obj.get("type")):
        return []
    return named_ids(obj.get("alsoKnownAs"))[:MAX_ALIASES_SENT]


async def perform(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """``Update{Person}``: edit one's own profile; None for anything else."""
    obj = document.get("object")
    if document.get("type") != "Update" or not isinstance(obj, dict):
        return None
    if "Person" not in as_list(obj.get("type")):
        return None
    return await _update_person(db, state, owner, obj)
