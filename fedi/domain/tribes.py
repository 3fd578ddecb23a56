"""Tribes: creating and editing them, finding them, their rules and their numbers.

A tribe is a local ``Group`` actor plus a ``Tribe`` row. Its name shares the namespace of
people (``fedi.domain.names``). Membership rules live in ``tribe_members``, invitations
in ``tribe_invites``, moderation in ``tribe_moderation``; the web pages, the CLI and the
inbound ActivityPub handlers all call these services.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defaultload

from fedi.domain import media
from fedi.domain.audit import Target, record_audit
from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_tribes import TribeCreated, TribeUpdated
from fedi.domain.instance_settings import get_setting, set_setting
from fedi.domain.local_actors import create_local_actor
from fedi.domain.names import name_is_taken, normalise_name, validate_local_name
from fedi.domain.profiles import LANGUAGES
from fedi.domain.remote_tribes import may_start_in_remote_tribe
from fedi.domain.talents import normalise_talent
from fedi.domain.tribe_access import Standing, is_blocked, require_role, role_of
from fedi.domain.tribe_changes import record_event
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, Follow, Initiative, Tribe, TribeMember, User, utcnow

JOIN_MODES = ("open", "approval", "invite")
INITIATIVE_POLICIES = ("anyone", "members", "admins")
ROLES = ("admin", "moderator", "member")
TRIBE_CREATION_KEY = "tribe_creation"
TRIBE_CREATION_MODES = ("everyone", "admins")

MAX_NAME = 100
MAX_THEME = 200
MAX_DESCRIPTION = 10_000
MAX_LOCATION = 100
MAX_BUDGET = 1000
MAX_TARGET_AREA = 200
MAX_TAGS = 10

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class TribeCounts:
    """The numbers shown on a tribe's pages."""

    members: int
    followers: int
    initiatives: int


# ------------------------------------------------------------------ field checks


def _line(value: str) -> str:
    return re.sub(r"\s+", " ", _CONTROL.sub("", value)).strip()


def _limited_line(value: str, limit: int, field: str, message: str) -> str:
    text = _line(value)
    if len(text) > limit:
        raise ServiceError(message, field=field, max=limit)
    return text


def clean_tribe_name(value: str) -> str:
    """A checked tribe name (one line, 1-100 characters)."""
    name = _limited_line(
        value, MAX_NAME, "name", "A name has at most %(max)s characters."
    )
    if not name:
        raise ServiceError("Please give the tribe a name.", field="name")
    return name


def clean_tags(value: str | Iterable[str]) -> list[str]:
    """Tags as normalised lower-case words, at most ``MAX_TAGS``, without duplicates."""
    raw = re.split(r"[,\n]", value) if isinstance(value, str) else list(value)
    tags: list[str] = []
    for item in raw:
        tag = normalise_talent(item)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ServiceError("A tribe has at most %(max)s tags.", field="tags", max=MAX_TAGS)
    return tags


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    choice = value.strip().lower()
    if choice not in allowed:
        raise ServiceError(
            "Please choose one of: %(choices)s.", field=field, choices=", ".join(allowed)
        )
    return choice


def check_tribe_fields(**fields: Any) -> dict[str, Any]:
    """Checked and normalised values for the editable fields that were given.

    Accepts ``name, theme, description, tags, location, language, initiative_policy,
    budget_available, target_area, join_mode``; raises ``ServiceError`` for the first bad one.
    """
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = clean_tribe_name(fields["name"])
    if "theme" in fields:
        out["theme"] = _limited_line(
            fields["theme"], MAX_THEME, "theme", "The theme has at most %(max)s characters."
        )
    if "description" in fields:
        text = _CONTROL.sub("", str(fields["description"]).replace("\r\n", "\n")).strip()
        if len(text) > MAX_DESCRIPTION:
            raise ServiceError(
                "The description has at most %(max)s characters.", field="description",
                max=MAX_DESCRIPTION,
            )
        out["description"] = text
    if "tags" in fields:
        out["tags"] = clean_tags(fields["tags"])
    if "location" in fields:
        out["location"] = _limited_line(
            fields["location"], MAX_LOCATION, "location",
            "A location has at most %(max)s characters.",
        )
    if "language" in fields:
        code = str(fields["language"]).strip().lower()
        if code and code not in LANGUAGES:
            raise ServiceError("Unknown language: %(code)s", field="language", code=code[:20])
        out["language"] = code
    if "initiative_policy" in fields:
        out["initiative_policy"] = _choice(
            fields["initiative_policy"], INITIATIVE_POLICIES, "initiative_policy"
        )
    if "budget_available" in fields:
        text = _CONTROL.sub("", str(fields["budget_available"]).replace("\r\n", "\n")).strip()
        if len(text) > MAX_BUDGET:
            raise ServiceError(
                "The budget has at most %(max)s characters.", field="budget_available",
                max=MAX_BUDGET,
            )
        out["budget_available"] = text
    if "target_area" in fields:
        out["target_area"] = _limited_line(
            fields["target_area"], MAX_TARGET_AREA, "target_area",
            "The target area has at most %(max)s characters.",
        )
    if "join_mode" in fields:
        out["join_mode"] = _choice(fields["join_mode"], JOIN_MODES, "join_mode")
    return out


def _apply(tribe: Tribe, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "name":
            tribe.actor.display_name = value
        elif key == "description":
            tribe.description_source = value
            tribe.description_html = render_markdown(value) if value else ""
        elif key == "location":
            tribe.location = value
            tribe.actor.location = value
        else:
            setattr(tribe, key, value)
    if "description" in values:
        tribe.actor.bio_source = tribe.description_source
        tribe.actor.bio_html = tribe.description_html
    if "join_mode" in values:
        # Mastodon shows a lock and sends follow requests for approval and invite tribes.
        tribe.actor.manually_approves_followers = tribe.join_mode != "open"


# ------------------------------------------------------------------ instance setting


async def get_tribe_creation(db: AsyncSession) -> str:
    """Who may create tribes in the web: ``everyone`` (default) or ``admins``."""
    mode = await get_setting(db, TRIBE_CREATION_KEY, "everyone")
    return mode if mode in TRIBE_CREATION_MODES else "everyone"


async def set_tribe_creation(db: AsyncSession, mode: str, *, acting: User | None = None) -> str:
    """Change who may create tribes; returns the normalised mode (kept in the audit log)."""
    mode = _choice(mode, TRIBE_CREATION_MODES, "tribe_creation")
    old = await get_setting(db, TRIBE_CREATION_KEY, "")
    await set_setting(db, TRIBE_CREATION_KEY, mode)
    await record_audit(
        db, "tribe.creation_mode", by=acting, target=Target("instance", TRIBE_CREATION_KEY, mode),
        details={"old": old, "new": mode},
    )
    return mode


async def may_create_tribe(db: AsyncSession, user: User | None) -> bool:
    """Whether this logged-in person may create a tribe in the web (the CLI always may)."""
    if user is None or user.disabled or not user.approved:
        return False
    if user.is_admin:
        return True
    return await get_tribe_creation(db) == "everyone"


# ------------------------------------------------------------------ create, edit, find


async def create_tribe(
    db: AsyncSession,
    settings: Settings,
    creator: Actor,
    *,
    slug: str,
    name: str,
    join_mode: str = "open",
    **fields: Any,
) -> Tribe:
    """Create a tribe: its ``Group`` actor (with keys), the tribe row, the creator as admin.

    ``creator`` must be a local person. Other ``fields`` as in ``check_tribe_fields``.
    """
    if not creator.local or creator.type != "Person":
        raise Forbidden("Only a person of this instance can create a tribe.")
    name_slug = validate_local_name(slug, field="slug")
    values = check_tribe_fields(name=name, join_mode=join_mode, **fields)
    if await name_is_taken(db, name_slug):
        raise Conflict("The name %(name)s is already taken.", field="slug", name=name_slug)
    actor = await create_local_actor(
        db, settings, username=name_slug, actor_type="Group", display_name=values["name"],
    )
    tribe = Tribe(actor_id=actor.id, slug=name_slug, created_by_id=creator.id, tags=[])
    tribe.actor = actor
    _apply(tribe, values)
    db.add(tribe)
    await db.flush()
    member = TribeMember(
        tribe_id=tribe.id, actor_id=creator.id, role="admin", state="active",
        joined_at=utcnow(),
    )
    member.actor = creator
    db.add(member)
    await db.flush()
    await record_event(db, tribe, "created", subject_id=creator.id, by_id=creator.id)
    await emit(db, settings, TribeCreated(actor=creator, tribe=tribe))
    return tribe


async def update_tribe(
    db: AsyncSession, settings: Settings, tribe: Tribe, editor: Actor, **fields: Any
) -> Tribe:
    """Change a tribe's fields (admins of the tribe only)."""
    await require_role(db, tribe, editor, "admin")
    values = check_tribe_fields(**fields)
    _apply(tribe, values)
    tribe.updated_at = utcnow()
    await db.flush()
    await record_event(db, tribe, "updated", by_id=editor.id)
    await emit(db, settings, TribeUpdated(actor=editor, tribe=tribe))
    return tribe


async def set_tribe_image(
    db: AsyncSession, settings: Settings, tribe: Tribe, editor: Actor, data: bytes
) -> str:
    """Store a new image for the tribe (admins only); returns its stored path."""
    await require_role(db, tribe, editor, "admin")
    relative = media.store_image(settings, "images", data, settings.max_avatar_bytes)
    old = tribe.image_path
    tribe.image_path = relative
    tribe.actor.avatar_path = relative
    await db.flush()
    media.delete_upload(settings, old)
    await emit(db, settings, TribeUpdated(actor=editor, tribe=tribe))
    return relative


def image_url(settings: Settings, tribe: Tribe) -> str | None:
    """The public URL of the tribe's image, or None."""
    return media.media_url(settings, tribe.image_path) if tribe.image_path else None


async def find_tribe(db: AsyncSession, slug: str) -> Tribe | None:
    """The tribe called ``slug`` (case-insensitive), or None."""
    return await db.scalar(_TRIBE_BY_SLUG, {"slug": normalise_name(slug)})


# Built once (every tribe page starts here). A Group actor has no talents: skip the query
# that would load them.
_TRIBE_BY_SLUG = (
    select(Tribe)
    .where(Tribe.slug == bindparam("slug"))
    .options(defaultload(Tribe.actor).lazyload(Actor.talents))
)


async def get_tribe(db: AsyncSession, slug: str) -> Tribe:
    """The tribe called ``slug``; raises ``NotFound``."""
    tribe = await find_tribe(db, slug)
    if tribe is None:
        raise NotFound("There is no tribe called %(name)s.", name=normalise_name(slug)[:64])
    return tribe


async def find_tribe_by_actor(db: AsyncSession, actor: Actor | int) -> Tribe | None:
    """The tribe whose ``Group`` actor is ``actor`` (for inbound activities), or None."""
    actor_id = actor if isinstance(actor, int) else actor.id
    return await db.scalar(select(Tribe).where(Tribe.actor_id == actor_id))


async def list_tribes(
    db: AsyncSession, *, q: str = "", tag: str = "", limit: int = 50, offset: int = 0
) -> list[Tribe]:
    """Tribes by name, optionally matching a search text or having a tag."""
    # Remote tribe rows (``remote_tribes``: groups elsewhere holding our initiatives) are
    # not listed as this instance's tribes.
    query = select(Tribe).join(Actor, Actor.id == Tribe.actor_id).where(Actor.local.is_(True))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Actor.display_name).like(like),
                Tribe.slug.like(like),
                func.lower(Tribe.theme).like(like),
                func.lower(Tribe.location).like(like),
            )
        )
    tribes = list((await db.scalars(query.order_by(Tribe.slug))).unique().all())
    if tag:
        # Tags are a JSON list; filtering here keeps the query the same on both databases.
        tribes = [tribe for tribe in tribes if tag in (tribe.tags or [])]
    return tribes[offset : offset + limit]


async def tag_cloud(db: AsyncSession, limit: int = 40) -> list[tuple[str, int]]:
    """The most used tribe tags with their counts."""
    counts: dict[str, int] = {}
    for tags in await db.scalars(select(Tribe.tags)):
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


async def tribe_counts(db: AsyncSession, tribe: Tribe) -> TribeCounts:
    """How many active members and accepted followers it has, and its initiatives."""
    # One statement with three counts (each served by an index): tribe pages show these on
    # every view, and each statement costs a round trip to the database.
    members = (
        select(func.count(TribeMember.id))
        .where(TribeMember.tribe_id == tribe.id, TribeMember.state == "active")
        .scalar_subquery()
    )
    followers = (
        select(func.count(Follow.id))
        .where(Follow.followed_id == tribe.actor_id, Follow.accepted.is_(True))
        .scalar_subquery()
    )
    initiatives = (
        select(func.count(Initiative.id))
        .where(Initiative.tribe_id == tribe.id, Initiative.deleted_at.is_(None))
        .scalar_subquery()
    )
    row = (await db.execute(select(members, followers, initiatives))).one()
    return TribeCounts(
        members=int(row[0] or 0), followers=int(row[1] or 0), initiatives=int(row[2] or 0)
    )


async def may_start_initiative(
    db: AsyncSession, tribe: Tribe, actor: Actor | None, *, known: Standing | None = None
) -> bool:
    """Whether ``actor`` may start an initiative in ``tribe`` under its initiative policy.

    ``anyone``: any person who is not blocked by the tribe; ``members``: active members;
    ``admins``: the tribe's admins. A page that read the actor's ``standing`` already passes
    it as ``known``, which saves asking again.
    """
    if actor is None:
        return False
    blocked = known.blocked if known is not None else await is_blocked(db, tribe, actor)
    if blocked:
        return False
    if not tribe.actor.local:
        # A tribe on another server enforces its own policy when our Create{Page} arrives.

        return await may_start_in_remote_tribe(db, tribe, actor)
    if tribe.initiative_policy == "anyone":
        return actor.type == "Person"
    role = known.role if known is not None else await role_of(db, tribe, actor)
    if tribe.initiative_policy == "members":
        return role is not None
    return role == "admin"
