"""Profiles: the public side of a person (name, bio, location, languages, links, talents, avatar).

The web form, the CLI and (later) the C2S API and incoming ``Update{Person}`` for our own
people all change a profile through these functions, so the limits exist once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import media
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_people import ProfileUpdated
from fedi.domain.names import normalise_name
from fedi.domain.talents import (
    ensure_talents_loaded,
    normalise_talent,
    parse_talents,
    set_talents,
    visible_people_query,
)
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, ActorTalent, utcnow

MAX_DISPLAY_NAME = 100
MAX_BIO = 5000
MAX_LOCATION = 100
MAX_LINKS = 4
MAX_LINK_LABEL = 60
MAX_LINK_URL = 2000

# Languages people can list, shown by their own name (an endonym needs no translation and
# is what a speaker looks for). Chosen for Dutch municipalities and the Caribbean islands.
LANGUAGES: dict[str, str] = {
    "nl": "Nederlands",
    "en": "English",
    "fy": "Frysk",
    "pap": "Papiamentu",
    "srn": "Sranantongo",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
    "it": "Italiano",
    "pl": "Polski",
    "ro": "Română",
    "bg": "Български",
    "uk": "Українська",
    "ru": "Русский",
    "tr": "Türkçe",
    "ar": "العربية",
    "ber": "Tamaziɣt",
    "fa": "فارسی",
    "ti": "ትግርኛ",
    "so": "Soomaali",
    "zh": "中文",
    "hi": "हिन्दी",
    "ngt": "Nederlandse Gebarentaal",
}
# Scripts written right to left, so templates can set dir="rtl" on those names.
RTL_LANGUAGES = frozenset({"ar", "fa"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ProfileLink:
    """One link on a profile: a label and an http(s) URL."""

    label: str
    url: str

    def as_dict(self) -> dict[str, str]:
        """The stored (JSON) form."""
        return {"label": self.label, "url": self.url}


# A link as the form, the CLI or a stored row gives it.
LinkInput = tuple[str, str] | ProfileLink | dict[str, Any]


def _single_line(value: str) -> str:
    """Trim, drop control characters and fold newlines: names and places are one line."""
    return re.sub(r"\s+", " ", _CONTROL.sub("", value)).strip()


def clean_display_name(value: str) -> str:
    """A checked display name; raises ``ServiceError(field="display_name")``."""
    name = _single_line(value)
    if len(name) > MAX_DISPLAY_NAME:
        raise ServiceError(
            "A name has at most %(max)s characters.", field="display_name", max=MAX_DISPLAY_NAME
        )
    return name


def clean_bio(value: str) -> str:
    """A checked bio source (markdown); raises ``ServiceError(field="bio")``."""
    bio = _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    if len(bio) > MAX_BIO:
        raise ServiceError("The bio has at most %(max)s characters.", field="bio", max=MAX_BIO)
    return bio


def clean_location(value: str) -> str:
    """A checked location; raises ``ServiceError(field="location")``."""
    location = _single_line(value)
    if len(location) > MAX_LOCATION:
        raise ServiceError(
            "A location has at most %(max)s characters.", field="location", max=MAX_LOCATION
        )
    return location


def clean_languages(values: Iterable[str]) -> list[str]:
    """Known language codes in the order given, without duplicates."""
    result: list[str] = []
    for raw in values:
        code = raw.strip().lower()
        if not code:
            continue
        if code not in LANGUAGES:
            raise ServiceError(
                "Unknown language: %(code)s", field="languages", code=code[:20]
            )
        if code not in result:
            result.append(code)
    return result


def clean_links(pairs: Iterable[LinkInput]) -> list[ProfileLink]:
    """Checked profile links: at most four, http or https only; empty rows are skipped.

    A link without a label is labelled with its host, so the profile never shows a bare
    URL as a name.
    """
    links: list[ProfileLink] = []
    for pair in pairs:
        if isinstance(pair, ProfileLink):
            label, url = pair.label, pair.url
        elif isinstance(pair, dict):
            label, url = str(pair.get("label", "")), str(pair.get("url", ""))
        else:
            label, url = pair
        label = _single_line(label)
        url = _CONTROL.sub("", url).strip()
        if not url and not label:
            continue
        if not url:
            raise ServiceError("Please give the address of the link %(label)s.", field="links",
                               label=label[:MAX_LINK_LABEL])
        if len(url) > MAX_LINK_URL:
            raise ServiceError("This web address is too long.", field="links")
        if any(ch.isspace() for ch in url):
            raise ServiceError("A web address cannot contain spaces.", field="links")
        parts = urlsplit(url)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            raise ServiceError(
                "A link must be a web address starting with https:// or http://.", field="links"
            )
        if parts.username or parts.password:
            raise ServiceError("A link cannot contain a user name or password.", field="links")
        if len(label) > MAX_LINK_LABEL:
            raise ServiceError(
                "A link label has at most %(max)s characters.", field="links", max=MAX_LINK_LABEL
            )
        links.append(ProfileLink(label or parts.hostname, url))
    if len(links) > MAX_LINKS:
        raise ServiceError("You can add at most %(max)s links.", field="links", max=MAX_LINKS)
    return links


def stored_links(actor: Actor) -> list[ProfileLink]:
    """The links of a profile as ``ProfileLink`` objects (ignoring malformed stored rows)."""
    result: list[ProfileLink] = []
    for item in actor.links or []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            result.append(ProfileLink(str(item.get("label") or item["url"]), item["url"]))
    return result


def check_profile_fields(
    *,
    display_name: str,
    bio: str,
    location: str,
    languages: Sequence[str],
    links: Iterable[LinkInput],
    talents: str | Iterable[str],
) -> list[ServiceError]:
    """Every problem with a submitted profile at once (``update_profile`` stops at the first).

    Forms use this to show all field errors together.
    """
    checks: list[Any] = [
        lambda: clean_display_name(display_name),
        lambda: clean_bio(bio),
        lambda: clean_location(location),
        lambda: clean_languages(languages),
        lambda: clean_links(links),
        lambda: parse_talents(talents),
    ]
    problems: list[ServiceError] = []
    for check in checks:
        try:
            check()
        except ServiceError as error:
            problems.append(error)
    return problems


async def update_profile(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    display_name: str,
    bio: str,
    location: str,
    languages: Sequence[str],
    links: Iterable[LinkInput],
    talents: str | Iterable[str],
) -> Actor:
    """Check and save a local person's profile; every field is validated before any changes.

    ``actor`` must belong to ``db``. Raises ``ServiceError`` with ``field`` set to the
    offending form field.
    """
    if not actor.local:
        raise ServiceError("Only profiles on this server can be edited here.")
    name = clean_display_name(display_name)
    bio_source = clean_bio(bio)
    place = clean_location(location)
    codes = clean_languages(languages)
    checked_links = clean_links(links)
    tags = parse_talents(talents)

    actor.display_name = name
    actor.bio_source = bio_source
    actor.bio_html = render_markdown(bio_source)
    actor.location = place
    actor.languages = codes
    actor.links = [link.as_dict() for link in checked_links]
    await set_talents(db, actor, tags)
    actor.updated_at = utcnow()
    await db.flush()
    await profile_changed(db, settings, actor)
    return actor


async def set_avatar(db: AsyncSession, settings: Settings, actor: Actor, data: bytes) -> str:
    """Store ``data`` as the actor's avatar (replacing and deleting the old file).

    Returns the stored path relative to the uploads folder. Raises
    ``ServiceError(field="avatar")`` for anything but a PNG, JPEG, GIF or WebP image of at
    most ``settings.max_avatar_bytes``.
    """
    if not actor.local:
        raise ServiceError("Only profiles on this server can be edited here.")
    relative = media.store_image(settings, "avatars", data, settings.max_avatar_bytes)
    old = actor.avatar_path
    actor.avatar_path = relative
    actor.updated_at = utcnow()
    await db.flush()
    media.delete_upload(settings, old)
    await profile_changed(db, settings, actor)
    return relative


async def remove_avatar(db: AsyncSession, settings: Settings, actor: Actor) -> None:
    """Remove the actor's avatar and its file (nothing happens without one)."""
    old = actor.avatar_path
    if not old:
        return
    actor.avatar_path = None
    actor.updated_at = utcnow()
    await db.flush()
    media.delete_upload(settings, old)
    await profile_changed(db, settings, actor)


async def profile_changed(db: AsyncSession, settings: Settings, actor: Actor) -> None:
    """Announce that the local person ``actor`` changed their profile (same transaction)."""
    await emit(db, settings, ProfileUpdated(actor=actor))


def avatar_url(settings: Settings, actor: Actor) -> str | None:
    """The absolute URL of an actor's avatar: our stored file, or a remote actor's icon."""
    if actor.avatar_path:
        return media.media_url(settings, actor.avatar_path)
    return actor.icon_url or None


async def find_local_person(db: AsyncSession, username: str) -> Actor | None:
    """The visible local person called ``username`` (case-insensitive), or None."""
    query = visible_people_query().where(
        func.lower(Actor.username) == normalise_name(username)
    )
    return (await db.scalars(query)).first()


async def get_local_person(db: AsyncSession, username: str) -> Actor:
    """The visible local person called ``username``; raises ``NotFound``."""
    actor = await find_local_person(db, username)
    if actor is None:
        raise NotFound("There is nobody called %(name)s here.", name=normalise_name(username))
    return actor


async def list_people(
    db: AsyncSession, *, talent: str = "", q: str = "", limit: int = 60, offset: int = 0
) -> list[Actor]:
    """Visible local people for the directory, filtered by talent and a name search.

    ``q`` matches the display name or username anywhere (case-insensitive). Sorted by name.
    """
    query = visible_people_query()
    tag = normalise_talent(talent)
    if tag:
        query = query.join(ActorTalent, ActorTalent.actor_id == Actor.id).where(
            ActorTalent.tag == tag
        )
    needle = _single_line(q).lower()[:100]
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(Actor.display_name).like(pattern, escape="\\"),
                func.lower(Actor.username).like(pattern, escape="\\"),
            )
        )
    query = query.order_by(
        func.lower(func.coalesce(func.nullif(Actor.display_name, ""), Actor.username)),
        Actor.id,
    ).limit(limit).offset(offset)
    people = list((await db.scalars(query)).unique().all())
    for person in people:
        await ensure_talents_loaded(db, person)
    return people
