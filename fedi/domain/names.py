"""Local names: the one rule for the names of people and (later) tribes.

People and tribes are both local actors in the ``actors`` table and share one namespace,
because Mastodon resolves ``name@host`` through WebFinger to exactly one actor: a person and
a tribe with the same name could never both be found.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import ServiceError
from models import Actor

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
MIN_LENGTH = 2
MAX_LENGTH = 30

# Names that would clash with our own routes, the instance actor or that invite impersonation.
RESERVED_NAMES = frozenset(
    {
        "about", "abuse", "account", "accounts", "activity", "activities", "actor", "admin",
        "administrator", "admins", "anonymous", "api", "app", "apps", "assets", "auth", "blog",
        "board", "boards", "contact", "contributions", "css", "dashboard", "docs", "explore",
        "favicon", "feed", "feeds", "followers", "following", "fonts", "groups", "healthz",
        "help", "home", "hostmaster", "images", "img", "inbox", "info", "initiatives",
        "instance", "invite", "invites", "js", "language", "legal", "login", "logout",
        "mail", "media", "moderator", "moderators", "new", "nobody", "nodeinfo", "notifications",
        "null", "oauth", "outbox", "people", "postmaster", "privacy", "profile", "public",
        "register", "registration", "reset", "root", "rss", "search", "security", "settings",
        "signin", "signup", "static", "staff", "status", "statuses", "support", "sysadmin",
        "system", "tags", "talents", "tasks", "terms", "tribe", "tribes", "undefined",
        "upload", "uploads", "user", "users", "webfinger", "webmaster", "well_known",
        "wellknown", "www",
        # Routes added with operations, meetups and polls.
        "decisions", "events", "metrics", "meetups", "polls", "readyz",
    }
)


def normalise_name(raw: str) -> str:
    """The canonical form of a typed name: trimmed, without a leading ``@``, lower case."""
    return raw.strip().lstrip("@").lower()


def validate_local_name(raw: str, *, field: str = "username") -> str:
    """Check a new local name and return its canonical form, or raise ``ServiceError``."""
    name = normalise_name(raw)
    if not name:
        raise ServiceError("Please choose a name.", field=field)
    if len(name) < MIN_LENGTH or len(name) > MAX_LENGTH:
        raise ServiceError(
            "A name has %(min)s to %(max)s characters.", field=field, min=MIN_LENGTH,
            max=MAX_LENGTH,
        )
    if not NAME_PATTERN.match(name):
        raise ServiceError(
            "A name starts with a letter and may contain only letters a-z, digits and _.",
            field=field,
        )
    if name in RESERVED_NAMES:
        raise ServiceError("This name is reserved. Please choose another one.", field=field)
    return name


async def name_is_taken(db: AsyncSession, name: str) -> bool:
    """Whether a local actor (person or tribe) already uses ``name`` (case-insensitive)."""
    found = await db.scalar(
        select(func.count(Actor.id)).where(
            Actor.local.is_(True), func.lower(Actor.username) == normalise_name(name)
        )
    )
    return bool(found)
