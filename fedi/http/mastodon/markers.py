"""Markers: where a person stopped reading ``home`` and ``notifications``, shared by their
apps (``GET``/``POST /api/v1/markers``)."""

from __future__ import annotations

from typing import Any

from quart import Response
from sqlalchemy import select

from fedi.http.mastodon.common import ApiBlueprint, ApiError, api_json, api_params, api_user, iso_ms
from fedi.state import get_state
from models import TimelineMarker, utcnow

blueprint = ApiBlueprint("mastodon_markers", __name__)

TIMELINES = ("home", "notifications")


def _entity(row: TimelineMarker) -> dict[str, Any]:
    return {
        "last_read_id": row.last_read_id,
        "version": row.version,
        "updated_at": iso_ms(row.updated_at),
    }


@blueprint.get("/api/v1/markers")
async def get_markers() -> Response:
    """The markers asked for (``timeline[]``; none asked: both)."""
    state = get_state()
    params = await api_params()
    wanted = [str(t) for t in params.list("timeline") if str(t) in TIMELINES] or list(TIMELINES)
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("read:statuses",))
        rows = await db.scalars(
            select(TimelineMarker).where(
                TimelineMarker.actor_id == me.id, TimelineMarker.timeline.in_(wanted)
            )
        )
        return api_json({row.timeline: _entity(row) for row in rows.all()})


def _last_read(params: Any, timeline: str) -> str | None:
    """``home[last_read_id]=...`` (a form) or ``{"home": {"last_read_id": ...}}`` (JSON)."""
    nested = params.get(timeline)
    if isinstance(nested, dict) and nested.get("last_read_id") is not None:
        return str(nested["last_read_id"])
    flat = params.get(f"{timeline}[last_read_id]")
    return str(flat) if flat not in (None, "") else None


@blueprint.post("/api/v1/markers")
async def save_markers() -> Response:
    """Move the markers sent; each move raises the marker's ``version``."""
    state = get_state()
    params = await api_params()
    updates = {t: value for t in TIMELINES if (value := _last_read(params, t)) is not None}
    if not updates:
        raise ApiError(422, "Validation failed: no marker given")
    async with state.db.session() as db:
        _, me = await api_user(db, scopes=("write:statuses",))
        out: dict[str, Any] = {}
        for timeline, last_read_id in updates.items():
            row = await db.scalar(
                select(TimelineMarker).where(
                    TimelineMarker.actor_id == me.id, TimelineMarker.timeline == timeline
                )
            )
            if row is None:
                row = TimelineMarker(actor_id=me.id, timeline=timeline, version=0)
                db.add(row)
            else:
                row.version += 1
            row.last_read_id = last_read_id[:64]
            row.updated_at = utcnow()
            await db.flush()
            out[timeline] = _entity(row)
        return api_json(out)
