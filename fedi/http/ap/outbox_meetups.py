"""Client-to-server meetups: ``Create{Event}``, ``Update{Event}`` and ``Delete`` of one,
posted to the organiser's outbox and performed by ``fedi.domain.meetups``.

``Create{Event}`` names the tribe in ``audience`` (of the activity or the Event); the Event
is read like a received one (Mobilizon's terms: ``startTime``, ``endTime``, ``timezone``,
``location``, ``joinMode``, ``maximumAttendeeCapacity``, ``ical:status``), plus our
``participation`` term (anyone / members / approval) and ``source`` (markdown) for the
description. ``Update{Event}`` carries the Event's id and the fields to change; a cancellation
is an Update with ``ical:status`` ``CANCELLED``. ``Delete`` names the Event id.
``Join``/``Leave`` of an Event, ours or a remote one we know (e.g. announced by a tribe
someone here follows), goes through the same service as the event page's buttons; for a
remote one that sends our person's request to its server.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.normalize import Malformed, normalize_object
from activitypub.vocab import as_list, id_of
from fedi.domain import meetups
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.tribes import find_tribe_by_actor
from fedi.federation.documents.meetups import event_fields
from fedi.state import AppState
from models import Actor, Meetup, OutboxActivity

__all__ = ["perform_event"]


class BadEvent(ServiceError):
    """The posted Event cannot be performed (HTTP 400)."""


def _is_event(obj: Any) -> bool:
    return isinstance(obj, dict) and "Event" in as_list(obj.get("type"))


def _fields(obj: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Meetup fields from a client's Event (only those present when ``partial``)."""
    doc = {k: v for k, v in obj.items() if k not in ("id", "attributedTo", "actor")}
    doc["type"] = "Event"
    timed = "startTime" in doc
    if partial and not timed:
        # Read the other terms with stand-in times, which are then left out of the edit.
        doc["startTime"], doc["endTime"] = "2000-01-01T00:00:00+00:00", None
    try:
        parsed = normalize_object(doc, allow_anonymous=True)
        fields = event_fields(parsed)
    except (Malformed, KeyError, ValueError, TypeError) as exc:
        raise BadEvent("the Event needs a name, startTime and endTime") from exc
    if not timed:
        fields.pop("starts_at", None)
        fields.pop("ends_at", None)
    source = obj.get("source")
    if isinstance(source, dict):
        source = source.get("content")
    if isinstance(source, str):
        fields["description_source"] = source
    elif isinstance(obj.get("content"), str):
        fields["description_source"] = str(obj["content"])
    else:
        fields.pop("description_source", None)
    if isinstance(obj.get("name"), str):
        fields["title"] = obj["name"]
    if obj.get("participation") in meetups.JOIN_MODES:
        fields["join_mode"] = obj["participation"]
    if partial:
        present = {
            "location": ("place_name", "street", "postal_code", "locality", "country",
                         "latitude", "longitude"),
            "attachment": ("online_url",),
            "maximumAttendeeCapacity": ("capacity",),
            "joinMode": ("join_mode",),
            "ical:status": ("status",),
            "timezone": ("timezone",),
        }
        if "name" not in obj:
            fields.pop("title", None)
        for term, names in present.items():
            if term not in obj:
                for name in names:
                    fields.pop(name, None)
        if "participation" in obj and obj["participation"] in meetups.JOIN_MODES:
            fields["join_mode"] = obj["participation"]
    return fields


async def _latest(
    db: AsyncSession, meetup: Meetup, kind: str, by: Actor | None = None
) -> OutboxActivity:
    query = select(OutboxActivity).where(
        OutboxActivity.object_ap_id == meetup.ap_id, OutboxActivity.type == kind
    )
    if by is not None:
        query = query.where(OutboxActivity.actor_id == by.id)
    row = await db.scalar(
        query
        .order_by(OutboxActivity.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("activity not found")
    return row


async def _own_meetup(db: AsyncSession, ap_id: str | None) -> Meetup | None:
    meetup = await meetups.find_by_ap_id(db, ap_id)
    return meetup if meetup is not None and meetup.local else None


async def perform_event(
    db: AsyncSession, state: AppState, owner: Actor, document: dict[str, Any]
) -> OutboxActivity | None:
    """Perform a client's activity about a meetup; None when it is not about one."""
    kind = document.get("type")
    obj = document.get("object")
    settings = state.settings
    if kind == "Create" and _is_event(obj):
        assert isinstance(obj, dict)
        audience = [id_of(x) for x in as_list(document.get("audience"))] + [
            id_of(x) for x in as_list(obj.get("audience"))
        ]
        group = None
        for ident in audience:
            if ident:
                group = await db.scalar(select(Actor).where(Actor.ap_id == ident))
                if group is not None:
                    break
        tribe = await find_tribe_by_actor(db, group) if group is not None else None
        if tribe is None:
            raise BadEvent("name the tribe organising the event in audience")
        meetup = await meetups.create_meetup(
            db, settings, owner, tribe, **_fields(obj, partial=False)
        )
        return await _latest(db, meetup, "Create")
    if kind == "Update" and _is_event(obj):
        assert isinstance(obj, dict)
        edited = await _own_meetup(db, id_of(obj.get("id")))
        if edited is None:
            raise NotFound("This event does not exist.")
        await meetups.update_meetup(db, settings, edited, owner, **_fields(obj, partial=True))
        return await _latest(db, edited, "Update")
    if kind in ("Join", "Leave"):
        target = await meetups.find_by_ap_id(db, id_of(obj))
        if target is None:
            return None
        if kind == "Join":
            await meetups.join(db, settings, target, owner)
        else:
            await meetups.leave(db, settings, target, owner)
        return await _latest(db, target, kind, owner)
    if kind == "Delete":
        deleted = await _own_meetup(db, id_of(obj))
        if deleted is None:
            return None
        await meetups.delete_meetup(db, settings, deleted, owner)
        return await _latest(db, deleted, "Delete")
    return None
