"""What happened in a tribe, as one list: its own history (joins, roles, changes) and the
history of the initiatives the viewer may see, newest first.

The initiatives' entries come through ``initiative_lists.recent_activity`` (the visibility
rule of the tribe's lists), so the activity tab never mentions an initiative the
initiatives tab hides from the same viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import initiative_lists
from fedi.domain.initiative_lists import Viewer
from fedi.domain.tribes import TribeCounts
from models import Initiative, InitiativeUpdate, Tribe, TribeEvent


@dataclass(frozen=True)
class ActivityItem:
    """One entry: a tribe event, or an entry of one of its initiatives' history."""

    created_at: datetime
    event: TribeEvent | None = None
    initiative: Initiative | None = None
    update: InitiativeUpdate | None = None


async def tribe_activity(
    db: AsyncSession, tribe: Tribe, viewer: Viewer, *, limit: int = 50
) -> list[ActivityItem]:
    """The newest ``limit`` things that happened in ``tribe`` that ``viewer`` may see."""
    events = (
        await db.scalars(
            select(TribeEvent)
            .where(TribeEvent.tribe_id == tribe.id)
            .order_by(TribeEvent.created_at.desc(), TribeEvent.id.desc())
            .limit(limit)
        )
    ).unique().all()
    updates = await initiative_lists.recent_activity(db, tribe, viewer, limit=limit)
    items = [ActivityItem(event.created_at, event=event) for event in events]
    items += [
        ActivityItem(update.created_at, initiative=initiative, update=update)
        for initiative, update in updates
    ]
    items.sort(key=lambda item: item.created_at, reverse=True)
    return items[:limit]


async def counts_for(
    db: AsyncSession, tribe: Tribe, counts: TribeCounts, viewer: Viewer
) -> TribeCounts:
    """The tribe's numbers with its initiatives counted as ``viewer`` sees them: the same
    rule as the lists (``initiative_lists.count_visible``), so a page never says "3
    initiatives" above a list of 2. The shared, cached counts count every initiative."""
    visible = await initiative_lists.count_visible(db, tribe, viewer)
    return replace(counts, initiatives=visible)
