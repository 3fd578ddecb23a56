"""Initiatives: starting one in a tribe, editing, archiving and deleting it, and finding them.

The tribe's initiative policy decides who may start one (``tribes.may_start_initiative``);
the creator becomes its first partner and the board gets a "Backlog" lane. Every change is
written to the initiative's history (``initiative_history.record_update``) and announced as a
domain event (``events_initiatives``). Permission rules: ``initiative_access``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import media, notifications
from fedi.domain.errors import Forbidden, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_initiatives import (
    InitiativeArchived,
    InitiativeCreated,
    InitiativeDeleted,
    InitiativeUpdated,
)
from fedi.domain.initiative_access import (
    VISIBILITIES,
    active_partners,
    can_view,
    require_edit,
    require_open,
    require_person,
    supporters,
)
from fedi.domain.initiative_board import DEFAULT_LANE, add_lane
from fedi.domain.initiative_fields import clean_tags, parse_date
from fedi.domain.initiative_history import record_update
from fedi.domain.initiative_people import add_partner
from fedi.domain.tribes import may_start_initiative
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, Initiative, InitiativeUpdate, Tribe, utcnow

PHASES = ("idea", "plan", "execute", "grow")
BUDGET_TYPES = ("none", "hours", "money")
MAX_NAME = 120
MAX_SUMMARY = 500
MAX_DESCRIPTION = 20_000
MAX_TEXT = 5000
MAX_LOCATION = 120
MAX_BUDGET = 100_000_000
FIELDS = (
    "name", "summary", "description", "expected_result", "motivation", "start_date",
    "end_date", "phase", "budget_type", "budget_amount", "location", "tags", "visibility",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ------------------------------------------------------------------ field checks


def _line(value: Any, limit: int, field: str, label: str) -> str:
    text = re.sub(r"\s+", " ", _CONTROL.sub("", str(value or ""))).strip()
    if len(text) > limit:
        raise ServiceError(f"{label} has at most %(max)s characters.", field=field, max=limit)
    return text


def _block(value: Any, limit: int, field: str) -> str:
    text = _CONTROL.sub("", str(value or "").replace("\r\n", "\n")).strip()
    if len(text) > limit:
        raise ServiceError("This text has at most %(max)s characters.", field=field, max=limit)
    return text


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    choice = str(value or "").strip().lower()
    if choice not in allowed:
        raise ServiceError(
            "Please choose one of: %(choices)s.", field=field, choices=", ".join(allowed)
        )
    return choice


def check_fields(**fields: Any) -> dict[str, Any]:
    """Checked, normalised values of the given initiative fields (see ``FIELDS``)."""
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = _line(fields["name"], MAX_NAME, "name", "A name")
        if not out["name"]:
            raise ServiceError("Please give the initiative a name.", field="name")
    if "summary" in fields:
        # Plain text: it is the Page's ``summary`` Mastodon shows as is (<= 500 characters).
        out["summary"] = _line(fields["summary"], MAX_SUMMARY, "summary", "The summary")
    if "description" in fields:
        out["description"] = _block(fields["description"], MAX_DESCRIPTION, "description")
    for name in ("expected_result", "motivation"):
        if name in fields:
            out[name] = _block(fields[name], MAX_TEXT, name)
    for name in ("start_date", "end_date"):
        if name in fields:
            out[name] = parse_date(fields[name], name)
    if "phase" in fields:
        out["phase"] = _choice(fields["phase"], PHASES, "phase")
    if "budget_type" in fields:
        out["budget_type"] = _choice(fields["budget_type"] or "none", BUDGET_TYPES, "budget_type")
    if "budget_amount" in fields:
        raw = fields["budget_amount"]
        if raw in (None, ""):
            out["budget_amount"] = None
        else:
            try:
                amount = int(str(raw).strip())
            except ValueError:
                raise ServiceError(
                    "Please give the budget as a whole number.", field="budget_amount"
                ) from None
            if not 0 <= amount <= MAX_BUDGET:
                raise ServiceError(
                    "Please give the budget as a whole number.", field="budget_amount"
                )
            out["budget_amount"] = amount
    if "location" in fields:
        out["location"] = _line(fields["location"], MAX_LOCATION, "location", "A location")
    if "tags" in fields:
        out["tags"] = clean_tags(fields["tags"])
    if "visibility" in fields:
        out["visibility"] = _choice(fields["visibility"], VISIBILITIES, "visibility")
    start, end = out.get("start_date"), out.get("end_date")
    if start and end and end < start:
        raise ServiceError("The end date cannot be before the start date.", field="end_date")
    return out


def _apply(initiative: Initiative, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "description":
            initiative.description_source = value
            initiative.description_html = render_markdown(value) if value else ""
        else:
            setattr(initiative, key, value)
    if values.get("budget_type") == "none":
        initiative.budget_amount = None


def initiative_url(settings: Settings, initiative: Initiative) -> str:
    """The initiative's id and page: ``{base}/initiatives/<id>``."""
    return settings.url(f"/initiatives/{initiative.id}")


# ------------------------------------------------------------------ create, edit, remove


async def create_initiative(
    db: AsyncSession,
    settings: Settings,
    tribe: Tribe,
    creator: Actor,
    *,
    name: str,
    ap_id: str | None = None,
    **fields: Any,
) -> Initiative:
    """Start an initiative in ``tribe`` (the tribe's policy decides who may).

    ``creator`` may be remote (an inbound ``Create{Page}``): then pass its ``ap_id``.
    """
    require_person(creator)
    if not await may_start_initiative(db, tribe, creator):
        raise Forbidden("You may not start initiatives in this tribe.")
    values = check_fields(name=name, **fields)
    initiative = Initiative(
        tribe_id=tribe.id, creator_id=creator.id, name=values["name"], tags=[],
        local=ap_id is None,
    )
    initiative.tribe = tribe
    initiative.creator = creator
    _apply(initiative, values)
    db.add(initiative)
    await db.flush()
    initiative.ap_id = ap_id or initiative_url(settings, initiative)
    await add_lane(db, initiative, DEFAULT_LANE)
    # The creator's partnership is part of the creation: it emits no event of its own.
    await add_partner(db, settings, initiative, creator, role="creator")
    await record_update(db, initiative, "created", creator)
    await emit(db, settings, InitiativeCreated(initiative, creator))
    return initiative


async def update_initiative(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    editor: Actor,
    **fields: Any,
) -> Initiative:
    """Edit fields (creator and partners; not while archived). Phase and date changes are
    written to the history as their own entries, other edits as one "edited" entry."""
    await require_edit(db, initiative, editor)
    require_open(initiative)
    values = check_fields(**fields)
    merged_start = values.get("start_date", initiative.start_date)
    merged_end = values.get("end_date", initiative.end_date)
    if merged_start and merged_end and merged_end < merged_start:
        raise ServiceError("The end date cannot be before the start date.", field="end_date")
    old_phase = initiative.phase
    old_visibility = initiative.visibility
    old_dates = (initiative.start_date, initiative.end_date)
    changed = [
        key for key, value in values.items()
        if key not in ("phase", "start_date", "end_date")
        and value != getattr(initiative, "description_source" if key == "description" else key)
    ]
    _apply(initiative, values)
    initiative.updated_at = utcnow()
    await db.flush()
    told = [*await active_partners(db, initiative), *await supporters(db, initiative)]
    if initiative.phase != old_phase:
        await record_update(
            db, initiative, "phase_changed", editor, old=old_phase, new=initiative.phase
        )
        await notifications.notify(
            db, told, "initiative_changed", by=editor, initiative_id=initiative.id,
            payload={"initiative": initiative.name, "phase": initiative.phase},
        )
    new_dates = (initiative.start_date, initiative.end_date)
    if new_dates != old_dates:
        await record_update(
            db, initiative, "date_changed", editor,
            old=[d.isoformat() if d else None for d in old_dates],
            new=[d.isoformat() if d else None for d in new_dates],
        )
    if changed:
        await record_update(db, initiative, "edited", editor, fields=changed)
    # Made narrower than public: the subscribers take back what was published publicly,
    # on every server keeping it, however the edit arrived.
    await emit(db, settings, InitiativeUpdated(
        initiative, editor,
        previous_visibility=old_visibility if old_visibility != initiative.visibility else None,
    ))
    return initiative


async def set_image(
    db: AsyncSession, settings: Settings, initiative: Initiative, editor: Actor, data: bytes
) -> str:
    """Store a new image for the initiative (creator and partners)."""
    await require_edit(db, initiative, editor)
    require_open(initiative)
    relative = media.store_image(settings, "images", data, settings.max_avatar_bytes)
    old = initiative.image_path
    initiative.image_path = relative
    await db.flush()
    media.delete_upload(settings, old)
    await emit(db, settings, InitiativeUpdated(initiative, editor))
    return relative


def image_url(settings: Settings, initiative: Initiative) -> str | None:
    """The public URL of the initiative's image, or None."""
    return media.media_url(settings, initiative.image_path) if initiative.image_path else None


async def archive(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    editor: Actor,
    *,
    archived: bool = True,
) -> Initiative:
    """Archive (read-only) or unarchive it (creator and partners)."""
    await require_edit(db, initiative, editor)
    if (initiative.archived_at is not None) == archived:
        return initiative
    initiative.archived_at = utcnow() if archived else None
    await db.flush()
    await record_update(db, initiative, "archived" if archived else "unarchived", editor)
    await emit(db, settings, InitiativeArchived(initiative, editor, archived=archived))
    return initiative


async def delete_initiative(
    db: AsyncSession,
    settings: Settings,
    initiative: Initiative,
    editor: Actor,
) -> Initiative:
    """Delete it (creator and partners). The row stays as a tombstone: its id answers 410."""
    await require_edit(db, initiative, editor)
    initiative.deleted_at = utcnow()
    await db.flush()
    await emit(db, settings, InitiativeDeleted(initiative, editor))
    return initiative


# ------------------------------------------------------------------ finding


async def visible_in_tribe(
    db: AsyncSession,
    tribe: Tribe,
    viewer: Actor | None,
    *,
    include_archived: bool = True,
) -> list[Initiative]:
    """The tribe's initiatives ``viewer`` may see, newest first (deleted ones never)."""
    query = select(Initiative).where(
        Initiative.tribe_id == tribe.id, Initiative.deleted_at.is_(None)
    )
    if not include_archived:
        query = query.where(Initiative.archived_at.is_(None))
    rows = await db.scalars(query.order_by(Initiative.created_at.desc(), Initiative.id.desc()))
    return [item for item in rows.unique().all() if await can_view(db, item, viewer)]


async def count_in_tribe(db: AsyncSession, tribe: Tribe) -> int:
    """How many initiatives (not deleted) the tribe has, whatever their visibility."""
    count = await db.scalar(
        select(func.count(Initiative.id)).where(
            Initiative.tribe_id == tribe.id, Initiative.deleted_at.is_(None)
        )
    )
    return int(count or 0)


async def tribe_activity(
    db: AsyncSession, tribe: Tribe, viewer: Actor | None, *, limit: int = 50
) -> list[tuple[Initiative, InitiativeUpdate]]:
    """Recent history entries of the tribe's initiatives that ``viewer`` may see."""
    visible = {item.id: item for item in await visible_in_tribe(db, tribe, viewer)}
    if not visible:
        return []
    rows = await db.scalars(
        select(InitiativeUpdate)
        .where(InitiativeUpdate.initiative_id.in_(list(visible)))
        .order_by(InitiativeUpdate.created_at.desc(), InitiativeUpdate.id.desc())
        .limit(limit)
    )
    return [(visible[row.initiative_id], row) for row in rows.unique().all()]


async def initiatives_of(db: AsyncSession, actor: Actor) -> list[Initiative]:
    """Initiatives ``actor`` is an active partner of (not deleted), newest first."""
    from models import InitiativePartner

    rows = await db.scalars(
        select(Initiative)
        .join(InitiativePartner, InitiativePartner.initiative_id == Initiative.id)
        .where(
            InitiativePartner.actor_id == actor.id,
            InitiativePartner.state == "active",
            Initiative.deleted_at.is_(None),
        )
        .order_by(Initiative.created_at.desc())
    )
    return list(rows.unique().all())
