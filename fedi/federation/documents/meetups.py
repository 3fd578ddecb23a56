"""Our meetups as ActivityStreams ``Event`` documents, shaped the way Mobilizon and Gancio
send them (FEP-8a8e), and the reading of a remote ``Event`` back into meetup fields.

Sent: ``name``, ``summary`` (plain text) and ``url`` for Mastodon, which converts an Event
into a status showing those three; ``content`` (HTML); ``startTime``/``endTime`` with the
offset of the organiser's zone and ``timezone`` (Mobilizon's term); ``location`` as a
``Place`` with a schema.org ``PostalAddress`` and ``latitude``/``longitude``; an online
meeting as ``isOnline`` plus an ``attachment`` Link named "Website" (Mobilizon's shape);
``joinMode`` (``free`` / ``restricted``: Mobilizon has no "members only", so members-only
events say ``restricted`` and our own ``participation`` term says ``members``);
``maximumAttendeeCapacity`` (0: no limit, as Mobilizon), ``remainingAttendeeCapacity``,
``participantCount``, ``anonymousParticipationEnabled`` false and ``ical:status``.
``attributedTo`` is the organiser (Mastodon accepts a Create only from the object's
author); ``audience`` is the tribe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from activitypub.normalize import AsObject
from activitypub.vocab import PUBLIC, as_list, default_context, id_of
from fedi.domain.local_actors import followers_url_of
from fedi.federation.documents.actors import namespace_url
from fedi.settings import Settings
from fedi.text import plain_text, sanitize_remote_html
from models import Meetup

__all__ = [
    "JOIN_MODE_OUT",
    "event_addressing",
    "event_context",
    "event_document",
    "event_fields",
    "group_of",
    "remote_description",
]

# Mobilizon's and schema.org's terms, as Mobilizon's own context declares them.
_EVENT_TERMS: dict[str, Any] = {
    "sc": "http://schema.org#",
    "mz": "https://joinmobilizon.org/ns#",
    "ical": "http://www.w3.org/2002/12/cal/ical#",
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "joinModeType": {"@id": "mz:joinModeType", "@type": "rdfs:Class"},
    "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
    "anonymousParticipationEnabled": {
        "@id": "mz:anonymousParticipationEnabled", "@type": "sc:Boolean",
    },
    "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
    "location": {"@id": "sc:location", "@type": "sc:Place"},
    "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "PostalAddress": "sc:PostalAddress",
    "streetAddress": "sc:streetAddress",
    "postalCode": "sc:postalCode",
    "addressLocality": "sc:addressLocality",
    "addressCountry": "sc:addressCountry",
}


def event_context(settings: Settings) -> list[Any]:
    """The ``@context`` of an Event: AS, security, ours (``participation``), Mobilizon's."""
    return [*default_context(namespace_url(settings)), dict(_EVENT_TERMS)]

JOIN_MODE_OUT = {"anyone": "free", "members": "restricted", "approval": "restricted"}
_STATUS_OUT = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}
_STATUS_IN = {v: k for k, v in _STATUS_OUT.items()}


def _local_time(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def event_addressing(meetup: Meetup, *extra: str) -> tuple[list[str], list[str]]:
    """``to``/``cc`` of the Event and of every activity about it: Public; the tribe, the
    organiser's followers and ``extra`` (the remote participants) in ``cc``."""
    cc: list[str] = []
    if meetup.tribe is not None:
        cc.append(meetup.tribe.actor.ap_id)
    organiser = meetup.organiser
    cc.append(followers_url_of(organiser))
    for ident in extra:
        if ident not in cc:
            cc.append(ident)
    return [PUBLIC], cc


def event_document(
    settings: Settings, meetup: Meetup, participant_count: int, *, with_context: bool = True
) -> dict[str, Any]:
    """The ``Event`` of one of our meetups."""
    to, cc = event_addressing(meetup)
    doc: dict[str, Any] = {}
    if with_context:
        doc["@context"] = event_context(settings)
    summary = plain_text(meetup.description_html, 500) if meetup.description_html else ""
    doc.update({
        "id": meetup.ap_id,
        "type": "Event",
        "name": meetup.title,
        "summary": summary or meetup.title,
        "content": meetup.description_html,
        "mediaType": "text/html",
        "url": meetup.ap_id,
        "attributedTo": meetup.organiser.ap_id,
        "actor": meetup.organiser.ap_id,
        "to": to,
        "cc": cc,
        "startTime": _local_time(meetup.starts_at, meetup.timezone),
        "endTime": _local_time(meetup.ends_at, meetup.timezone),
        "timezone": meetup.timezone,
        "joinMode": JOIN_MODE_OUT.get(meetup.join_mode, "free"),
        "participation": meetup.join_mode,
        "maximumAttendeeCapacity": meetup.capacity or 0,
        "remainingAttendeeCapacity": (
            max(0, meetup.capacity - participant_count) if meetup.capacity else None
        ),
        "participantCount": participant_count,
        "anonymousParticipationEnabled": False,
        "ical:status": _STATUS_OUT.get(meetup.status, "CONFIRMED"),
        "draft": False,
        "isOnline": bool(meetup.online_url),
        "published": meetup.created_at.isoformat(timespec="seconds"),
        "updated": meetup.updated_at.isoformat(timespec="seconds"),
    })
    if meetup.tribe is not None:
        doc["audience"] = meetup.tribe.actor.ap_id
    if meetup.initiative is not None and meetup.initiative.ap_id:
        # The initiative organising it, as its other objects name it.
        doc["context"] = meetup.initiative.ap_id
    if meetup.place_name or meetup.street or meetup.locality or meetup.latitude is not None:
        place: dict[str, Any] = {"type": "Place", "name": meetup.place_name or meetup.locality}
        place["address"] = {
            "type": "PostalAddress",
            "streetAddress": meetup.street,
            "postalCode": meetup.postal_code,
            "addressLocality": meetup.locality,
            "addressCountry": meetup.country,
        }
        if meetup.latitude is not None and meetup.longitude is not None:
            place["latitude"] = meetup.latitude
            place["longitude"] = meetup.longitude
        doc["location"] = place
    if meetup.online_url:
        doc["attachment"] = [{
            "type": "Link", "name": "Website", "href": meetup.online_url,
            "mediaType": "text/html",
        }]
    return doc


def group_of(raw: Mapping[str, Any], organiser_id: str) -> str | None:
    """The group a remote Event belongs to: its ``attributedTo`` (Mobilizon) or
    ``audience`` when that is not the organiser."""
    for key in ("attributedTo", "audience"):
        for entry in as_list(raw.get(key)):
            ident = id_of(entry)
            if ident and ident != organiser_id:
                return ident
    return None


def _text(value: Any, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def event_fields(obj: AsObject) -> dict[str, Any]:
    """The meetup fields a remote ``Event`` gives (raises ``KeyError``/``ValueError`` for
    one without usable times). Unknown join modes count as ``approval``."""
    raw = obj.raw
    starts = datetime.fromisoformat(str(raw["startTime"]))
    ends_raw = raw.get("endTime")
    ends = datetime.fromisoformat(str(ends_raw)) if ends_raw else starts
    if ends <= starts:
        # Mobilizon allows an event without an end; show it as lasting one hour.
        ends = starts + timedelta(hours=1)
    zone = _text(raw.get("timezone"), 64) or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        zone = "UTC"
    location = raw.get("location")
    location = location[0] if isinstance(location, list) and location else location
    place = location if isinstance(location, dict) else {}
    address = place.get("address")
    address = address if isinstance(address, dict) else {}
    online: str | None = None
    for item in as_list(raw.get("attachment")):
        if isinstance(item, dict) and item.get("type") == "Link" and isinstance(
            item.get("href"), str
        ) and str(item.get("href")).startswith(("https://", "http://")):
            online = item["href"][:2048]
            break
    capacity = raw.get("maximumAttendeeCapacity")
    join_mode = {"free": "anyone", "restricted": "approval"}.get(
        str(raw.get("joinMode") or "free"), "approval"
    )
    return {
        "title": plain_text(obj.name or "", 255) or "(untitled event)",
        "description_source": "",
        "starts_at": starts if starts.tzinfo else starts.replace(tzinfo=ZoneInfo(zone)),
        "ends_at": ends if ends.tzinfo else ends.replace(tzinfo=ZoneInfo(zone)),
        "timezone": zone,
        "place_name": _text(place.get("name")),
        "street": _text(address.get("streetAddress")),
        "postal_code": _text(address.get("postalCode"), 32),
        "locality": _text(address.get("addressLocality")),
        "country": _text(address.get("addressCountry")),
        "latitude": _number(place.get("latitude")),
        "longitude": _number(place.get("longitude")),
        "online_url": online,
        "capacity": capacity if isinstance(capacity, int) and capacity > 0 else None,
        "join_mode": join_mode,
        "status": _STATUS_IN.get(str(raw.get("ical:status") or "CONFIRMED"), "confirmed"),
    }


def remote_description(obj: AsObject) -> str:
    """The sanitised HTML description of a remote Event."""
    return sanitize_remote_html(obj.content) if obj.content else ""
