"""The instance documents and the lists apps read at start-up (issue 14).

``/api/v1/instance`` and ``/api/v2/instance`` say we speak Mastodon 4.3's API (apps switch
features on by that version string, as they do for GoToSocial and Akkoma); the
``configuration`` limits are our real ones, so apps stop people before the server would.
The rest answers what apps fetch on start and break on when it is missing: preferences,
custom emojis, filters, announcements, followed and featured tags, lists, trends, blocks
and mutes, all valid and empty where we have nothing of the kind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi import __version__
from fedi.domain import media, notes, polls, push
from fedi.domain.instance_settings import get_registration_mode
from fedi.http.mastodon.account_entity import DEFAULT_HEADER, account_entity
from fedi.http.mastodon.common import ApiBlueprint, api_json, api_user
from fedi.i18n import SUPPORTED_LOCALES
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor, ApObject, User

blueprint = ApiBlueprint("mastodon_instance", __name__)

MASTODON_VERSION = "4.3.0"
SOFTWARE = "fedi-partup"
DESCRIPTION = (
    "A place where residents, tribes and the municipality start and carry initiatives "
    "together, part of the Fediverse."
)
MAX_MEDIA_ATTACHMENTS = 4
# Characters a link counts for in a post, as on Mastodon (apps count them this way).
CHARACTERS_PER_URL = 23


def version_string() -> str:
    """``4.3.0 (compatible; fedi-partup 1.2.3)``: apps parse the leading Mastodon version."""
    return f"{MASTODON_VERSION} (compatible; {SOFTWARE} {__version__})"


def _configuration(settings: Settings) -> dict[str, Any]:
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": notes.MAX_NOTE_CHARS,
            "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
            "characters_reserved_per_url": CHARACTERS_PER_URL,
        },
        "media_attachments": {
            "supported_mime_types": sorted(set(media.MEDIA_TYPES.values())),
            "image_size_limit": settings.max_avatar_bytes,
            "image_matrix_limit": 16_777_216,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
            "description_limit": 1500,
        },
        "polls": {
            "max_options": polls.MAX_OPTIONS,
            "max_characters_per_option": polls.MAX_OPTION,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        },
    }


async def _contact_account(db: AsyncSession, settings: Settings) -> dict[str, Any] | None:
    """The first admin's account (Mastodon shows a contact person), or None."""
    actor = await db.scalar(
        select(Actor)
        .join(User, User.actor_id == Actor.id)
        .where(User.is_admin.is_(True), User.disabled.is_(False), Actor.gone_at.is_(None))
        .order_by(User.id)
        .limit(1)
    )
    return await account_entity(db, settings, actor) if actor is not None else None


async def _facts(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    users = await db.scalar(
        select(func.count(User.id)).where(User.approved.is_(True), User.disabled.is_(False))
    ) or 0
    statuses = await db.scalar(
        select(func.count(ApObject.id)).where(
            ApObject.local.is_(True), ApObject.deleted_at.is_(None)
        )
    ) or 0
    domains = await db.scalar(
        select(func.count(func.distinct(Actor.domain))).where(Actor.local.is_(False))
    ) or 0
    mode = await get_registration_mode(db, settings)
    return {
        "users": int(users),
        "statuses": int(statuses),
        "domains": int(domains),
        "mode": mode,
        "contact": await _contact_account(db, settings),
    }


def _streaming_url(settings: Settings) -> str:
    return ("wss://" if settings.secure else "ws://") + settings.host


@blueprint.get("/api/v1/instance")
async def instance_v1() -> Any:
    """The instance, Mastodon's version 1 document (still read by many apps)."""
    state = get_state()
    settings = state.settings
    async with state.db.session() as db:
        facts = await _facts(db, settings)
    return api_json({
        "uri": settings.host,
        "title": settings.instance_name,
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": version_string(),
        "urls": {"streaming_api": _streaming_url(settings)},
        "stats": {
            "user_count": facts["users"],
            "status_count": facts["statuses"],
            "domain_count": facts["domains"],
        },
        "thumbnail": settings.url(DEFAULT_HEADER),
        "languages": list(SUPPORTED_LOCALES),
        "registrations": facts["mode"] in ("open", "approval"),
        "approval_required": facts["mode"] == "approval",
        "invites_enabled": facts["mode"] == "invite",
        "configuration": _configuration(settings),
        "contact_account": facts["contact"],
        "rules": [],
    })


@blueprint.get("/api/v2/instance")
async def instance_v2() -> Any:
    """The instance, Mastodon's version 2 document."""
    state = get_state()
    settings = state.settings
    async with state.db.session() as db:
        facts = await _facts(db, settings)
        # The key apps subscribe with at /api/v1/push/subscription (fedi.http.mastodon.push).
        vapid_key = push.vapid_public_key(await push.load_vapid(db))
    configuration = _configuration(settings)
    configuration["urls"] = {"streaming": _streaming_url(settings), "status": None}
    configuration["vapid"] = {"public_key": vapid_key}
    configuration["translation"] = {"enabled": False}
    configuration["timelines_access"] = {
        "live_feeds": {"local": "public", "remote": "public"},
    }
    return api_json({
        "domain": settings.host,
        "title": settings.instance_name,
        "version": version_string(),
        "source_url": "",
        "description": DESCRIPTION,
        "usage": {"users": {"active_month": facts["users"]}},
        "thumbnail": {"url": settings.url(DEFAULT_HEADER), "blurhash": None, "versions": {}},
        "icon": [],
        "languages": list(SUPPORTED_LOCALES),
        "configuration": configuration,
        "registrations": {
            "enabled": facts["mode"] in ("open", "approval"),
            "approval_required": facts["mode"] == "approval",
            "reason_required": facts["mode"] == "approval",
            "message": None,
            "min_age": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": facts["contact"]},
        "rules": [],
    })


@blueprint.get("/api/v1/instance/peers")
async def peers() -> Any:
    """The domains we know actors of."""
    async with get_state().db.session() as db:
        rows = await db.scalars(
            select(Actor.domain).where(Actor.local.is_(False)).distinct().limit(1000)
        )
        return api_json(sorted(rows.all()))


@blueprint.get("/api/v1/instance/rules")
async def rules() -> Any:
    """The server rules (none are kept separately; the about page explains the place)."""
    return api_json([])


@blueprint.get("/api/v1/instance/extended_description")
async def extended_description() -> Any:
    """The longer description (Mastodon 4.x)."""
    return api_json({"updated_at": None, "content": f"<p>{DESCRIPTION}</p>"})


@blueprint.get("/api/v1/preferences")
async def preferences() -> Any:
    """The person's posting and reading defaults, as Mastodon names them."""
    async with get_state().db.session() as db:
        user, _actor = await api_user(db, scopes=("read:accounts",))
        language = user.locale
    return api_json({
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    })


async def _empty_for_user(scope: str) -> Any:
    async with get_state().db.session() as db:
        await api_user(db, scopes=(scope,))
    return api_json([])


@blueprint.get("/api/v1/custom_emojis")
async def custom_emojis() -> Any:
    """No custom emojis here."""
    return api_json([])


@blueprint.get("/api/v1/filters")
async def filters_v1() -> Any:
    """No keyword filters (version 1)."""
    return await _empty_for_user("read:filters")


@blueprint.get("/api/v2/filters")
async def filters_v2() -> Any:
    """No keyword filters (version 2)."""
    return await _empty_for_user("read:filters")


@blueprint.get("/api/v1/announcements")
async def announcements() -> Any:
    """No announcements."""
    return await _empty_for_user("read")


@blueprint.get("/api/v1/followed_tags")
async def followed_tags() -> Any:
    """Following hashtags is not offered."""
    return await _empty_for_user("read:follows")


@blueprint.get("/api/v1/featured_tags")
async def featured_tags() -> Any:
    """Featured hashtags are not offered."""
    return await _empty_for_user("read:accounts")


@blueprint.get("/api/v1/featured_tags/suggestions")
async def featured_tag_suggestions() -> Any:
    """No suggestions."""
    return await _empty_for_user("read:accounts")


@blueprint.get("/api/v1/lists")
async def lists() -> Any:
    """Lists are not offered; an empty list lets apps hide the feature."""
    return await _empty_for_user("read:lists")


@blueprint.get("/api/v1/blocks")
async def blocks() -> Any:
    """Blocked accounts (none are kept per person yet)."""
    return await _empty_for_user("read:blocks")


@blueprint.get("/api/v1/mutes")
async def mutes() -> Any:
    """Muted accounts (muting is not offered)."""
    return await _empty_for_user("read:mutes")


@blueprint.get("/api/v1/domain_blocks")
async def domain_blocks() -> Any:
    """Domains the person blocked (not offered per person)."""
    return await _empty_for_user("read:blocks")


@blueprint.get("/api/v1/endorsements")
async def endorsements() -> Any:
    """Endorsed accounts (not offered)."""
    return await _empty_for_user("read:accounts")


@blueprint.get("/api/v1/suggestions")
@blueprint.get("/api/v2/suggestions")
async def suggestions() -> Any:
    """Follow suggestions (none)."""
    return await _empty_for_user("read")


@blueprint.get("/api/v1/trends")
@blueprint.get("/api/v1/trends/tags")
@blueprint.get("/api/v1/trends/statuses")
@blueprint.get("/api/v1/trends/links")
async def trends() -> Any:
    """Trends are not computed here."""
    return api_json([])


@blueprint.get("/api/v1/directory")
async def directory() -> Any:
    """The profile directory (the web's people page covers it; empty for apps for now)."""
    return api_json([])

