"""What every view of a tribe page reads besides the tribe and the viewer's standing, mostly
kept for a few seconds (``fedi.http.web.short_cache``).

A member's tribe page is never served from the page cache, and it asked the same questions on
every view: is an e-mail invitation waiting for me, how many of the tribe's initiatives may I
see (a count over all of them), which are the newest few, who is the core team. The answers
come from the domain (the visibility rule of ``initiative_lists``, ``tribe_invites``,
``tribe_members``); this module keeps them briefly, keyed by what they depend on. A commit in
this process that changes anything shown empties them at once, so a person's own change (or
another visitor's on this server) shows on the next page.

Only a tribe of this server is kept: a tribe on another server gets its initiatives through
the worker process, whose changes this process does not hear about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from quart import g
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import initiative_lists, tribe_activity, tribe_invites, tribe_members
from fedi.domain.initiative_lists import Viewer
from fedi.domain.tribes import TribeCounts
from fedi.http.ap.groups import TEAM_ROLES
from fedi.http.web.cache import cached_tribe_counts
from fedi.http.web.short_cache import ShortCache, remembered
from fedi.state import Slot, get_state
from fedi.text import plain_text
from models import Tribe

ViewerKey = tuple[int, int, bool, bool]

# The addresses open e-mail invitations wait for (None: too many to keep).
OPEN_INVITES: Slot[ShortCache[str, frozenset[str] | None]] = Slot("open_email_invites")
MAX_KEPT_INVITES = 1000
# What a viewer counts of a tribe's initiatives, and the newest few (immutable rows).
VISIBLE_INITIATIVES: Slot[ShortCache[ViewerKey, int]] = Slot("visible_initiatives")
NEWEST_INITIATIVES: Slot[ShortCache[tuple[ViewerKey, int], tuple[Any, ...]]] = Slot(
    "newest_initiatives"
)


@dataclass(frozen=True)
class TeamMember:
    """What the tribe page shows of a member of its core team."""

    name: str
    handle: str
    role: str


# The core team of each tribe, by tribe id.
TEAM: Slot[ShortCache[tuple[int, int], tuple[TeamMember, ...]]] = Slot("tribe_team")


async def claim_invites(db: AsyncSession) -> None:
    """Pick up invitations sent to the logged-in person's e-mail address.

    Nearly always none waits: the addresses open invitations wait for are kept for a few
    seconds, and only a person whose address is among them runs the claim.
    """
    user = g.user
    if user is None:
        return
    waiting = await remembered(
        OPEN_INVITES, "", lambda: tribe_invites.open_email_addresses(db, limit=MAX_KEPT_INVITES)
    )
    if waiting is not None and user.email.strip().lower() not in waiting:
        return
    await tribe_invites.claim_email_invites(db, get_state().settings, user.actor, user.email)


def viewer_key(tribe: Tribe, seen_by: Viewer) -> ViewerKey:
    """What a viewer's answers about a tribe's initiatives depend on (the visibility rule of
    ``initiative_lists``): the tribe, the person (0: anonymous), membership, a block."""
    actor_id = seen_by.actor.id if seen_by.actor is not None else 0
    return (tribe.id, actor_id, seen_by.member, seen_by.blocked)


async def counts(db: AsyncSession, tribe: Tribe, seen_by: Viewer) -> TribeCounts:
    """The tribe's header numbers, its initiatives counted as ``seen_by`` sees them (the
    same rule as the lists, ``tribe_activity.counts_for``)."""
    base = await cached_tribe_counts(db, tribe)
    if not tribe.actor.local:
        return await tribe_activity.counts_for(db, tribe, base, seen_by)
    visible = await remembered(
        VISIBLE_INITIATIVES, viewer_key(tribe, seen_by),
        lambda: initiative_lists.count_visible(db, tribe, seen_by),
    )
    return replace(base, initiatives=visible)


async def newest(
    db: AsyncSession, tribe: Tribe, seen_by: Viewer, *, limit: int
) -> tuple[Any, ...]:
    """The newest ``limit`` initiatives ``seen_by`` may see (rows of a few columns)."""

    async def read() -> tuple[Any, ...]:
        return tuple(await initiative_lists.newest_visible(db, tribe, seen_by, limit=limit))

    if not tribe.actor.local:
        return await read()
    return await remembered(NEWEST_INITIATIVES, (viewer_key(tribe, seen_by), limit), read)


async def team(db: AsyncSession, tribe: Tribe, *, limit: int) -> tuple[TeamMember, ...]:
    """The tribe's core team as the page shows it: names, handles and roles."""

    async def read() -> tuple[TeamMember, ...]:
        # Read through the index: the tribe may have 10,000 members.
        members = await tribe_members.list_members(db, tribe, limit=limit, roles=TEAM_ROLES)
        return tuple(TeamMember(m.actor.name, m.actor.handle, m.role) for m in members)

    return await remembered(TEAM, (tribe.id, limit), read)


@lru_cache(maxsize=256)
def meta_description(description_html: str | None) -> str:
    """The page's meta description: the start of the tribe's description as text (the same
    description is read on every view; taking HTML apart is not free)."""
    return plain_text(description_html, 200) if description_html else ""
