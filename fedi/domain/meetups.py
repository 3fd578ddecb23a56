"""Meetups: events a tribe (or one of its initiatives) organises, and who takes part.

The rules, once for the web pages, the C2S outbox and incoming activities:

* a meetup lives in one of our tribes; active members organise them (for an initiative's
  meetup the initiative must be in that tribe). The organiser and the tribe's admins and
  moderators edit, cancel and delete it and decide on requests;
* who may join (``join_mode``): ``anyone``; ``members`` (active members of the tribe, the
  tribe's own access rules, ``fedi.domain.tribe_access``); ``approval`` (a pending request
  an organiser accepts or rejects). Blocked people and domains of the tribe never join;
* capacity: when the accepted participants fill it, a new request is refused (decided: no
  waiting list; a full event says so at once, and Mobilizon's own ``Reject`` does the same);
* a cancelled, deleted or finished meetup takes no new participants; leaving is always
  possible;
* remote meetups (from Mobilizon groups or other instances) are kept as rows with their own
  id: a local person joining one waits (pending) for the remote server's ``Accept``.

Times are stored in UTC with the IANA zone the organiser chose (``zoneinfo``); forms give
local times in that zone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain.errors import Conflict, Forbidden, NotFound, ServiceError
from fedi.domain.events import emit
from fedi.domain.events_meetups import (
    MeetupCancelled,
    MeetupCreated,
    MeetupDeleted,
    MeetupUpdated,
    ParticipationDecided,
    ParticipationLeft,
    ParticipationRequested,
)
from fedi.domain.ids import new_activity_id
from fedi.domain.notifications import notify
from fedi.domain.tribe_access import is_blocked, role_at_least, role_of
from fedi.settings import Settings
from fedi.text import render_markdown
from models import Actor, Initiative, Meetup, MeetupParticipant, Tribe, utcnow

__all__ = [
    "JOIN_MODES",
    "REMINDER_KIND",
    "STATUSES",
    "accepted_count",
    "answer_remote_join",
    "cancel_meetup",
    "check_fields",
    "create_meetup",
    "decide",
    "delete_meetup",
    "find_by_ap_id",
    "get_meetup",
    "join",
    "leave",
    "may_manage",
    "meetup_id",
    "page_key",
    "participants",
    "participation_of",
    "record_remote_meetup",
    "remote_deleted",
    "send_reminders",
    "upcoming",
    "update_meetup",
]

JOIN_MODES = ("anyone", "members", "approval")
STATUSES = ("confirmed", "tentative", "cancelled")
# The notification kind of the day-before reminder (``fedi.domain.notifications.notify``).
REMINDER_KIND = "meetup_reminder"
MAX_TITLE = 255
MAX_DESCRIPTION = 20_000
MAX_DURATION = timedelta(days=31)
EDITABLE = (
    "title", "description_source", "starts_at", "ends_at", "timezone", "place_name", "street",
    "postal_code", "locality", "country", "latitude", "longitude", "online_url", "capacity",
    "join_mode", "status",
)


def page_key(meetup: Meetup) -> str:
    """The key of the meetup's page ``/events/<key>``: the last part of our id, ``r<row id>``
    for a remote meetup (its own id lives elsewhere)."""
    return meetup.ap_id.rsplit("/", 1)[-1] if meetup.local else f"r{meetup.id}"


def meetup_id(settings: Settings) -> str:
    """A fresh id for one of our meetups: ``{base}/events/<hex>`` (also its page)."""
    return settings.url(f"/events/{uuid.uuid4().hex}")


# ------------------------------------------------------------------ fields


def _line(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServiceError("Unknown time zone.", field="timezone") from exc


def _when(value: Any, zone: ZoneInfo, field: str) -> datetime:
    """An aware datetime from a datetime or a form's local ``YYYY-MM-DDTHH:MM`` in ``zone``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    try:
        parsed = datetime.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise ServiceError("Give a date and time.", field=field) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _coordinate(value: Any, limit: float, field: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError as exc:
        raise ServiceError("Coordinates are numbers.", field=field) from exc
    if not -limit <= number <= limit:
        raise ServiceError("Coordinates are out of range.", field=field)
    return number


def check_fields(**fields: Any) -> dict[str, Any]:
    """Check and normalise the meetup fields given (a full set when creating).

    ``starts_at``/``ends_at`` are aware datetimes or local form values in ``timezone``.
    Returns the clean values, times in UTC; raises ``ServiceError`` naming the field.
    """
    out: dict[str, Any] = {}
    zone = _zone(str(fields.get("timezone") or "UTC"))
    out["timezone"] = zone.key
    if "title" in fields:
        out["title"] = _line(fields["title"], MAX_TITLE)
        if not out["title"]:
            raise ServiceError("Give the event a title.", field="title")
    if "description_source" in fields:
        text = str(fields["description_source"] or "")
        if len(text) > MAX_DESCRIPTION:
            raise ServiceError("The description is too long.", field="description_source")
        out["description_source"] = text
        out["description_html"] = render_markdown(text) if text.strip() else ""
    if "starts_at" in fields or "ends_at" in fields:
        starts = _when(fields.get("starts_at"), zone, "starts_at")
        ends = _when(fields.get("ends_at"), zone, "ends_at")
        if ends <= starts:
            raise ServiceError("The event must end after it starts.", field="ends_at")
        if ends - starts > MAX_DURATION:
            raise ServiceError("An event lasts at most 31 days.", field="ends_at")
        out["starts_at"], out["ends_at"] = starts.astimezone(UTC), ends.astimezone(UTC)
    for name, limit in (
        ("place_name", 255), ("street", 255), ("postal_code", 32), ("locality", 255),
        ("country", 255),
    ):
        if name in fields:
            out[name] = _line(fields[name], limit)
    if "latitude" in fields:
        out["latitude"] = _coordinate(fields["latitude"], 90, "latitude")
    if "longitude" in fields:
        out["longitude"] = _coordinate(fields["longitude"], 180, "longitude")
    if "online_url" in fields:
        link = str(fields["online_url"] or "").strip()
        if link and (urlsplit(link).scheme not in ("http", "https") or len(link) > 2048):
            raise ServiceError("An online link starts with https://.", field="online_url")
        out["online_url"] = link or None
    if "capacity" in fields:
        raw = str(fields["capacity"] if fields["capacity"] is not None else "").strip()
        if raw in ("", "0"):
            out["capacity"] = None
        else:
            try:
                out["capacity"] = int(raw)
            except ValueError as exc:
                raise ServiceError("Capacity is a whole number.", field="capacity") from exc
            if not 1 <= out["capacity"] <= 1_000_000:
                raise ServiceError("Capacity is a whole number.", field="capacity")
    if "join_mode" in fields:
        if fields["join_mode"] not in JOIN_MODES:
            raise ServiceError("Choose who may join.", field="join_mode")
        out["join_mode"] = fields["join_mode"]
    if "status" in fields:
        if fields["status"] not in STATUSES:
            raise ServiceError("Choose a status.", field="status")
        out["status"] = fields["status"]
    return out


# ------------------------------------------------------------------ look-ups


async def find_by_ap_id(db: AsyncSession, ap_id: str | None) -> Meetup | None:
    """The meetup (ours or remote) with this ``Event`` id, or None."""
    if not ap_id:
        return None
    return await db.scalar(select(Meetup).where(Meetup.ap_id == ap_id))


async def get_meetup(db: AsyncSession, settings: Settings, key: str) -> Meetup:
    """Our meetup ``{base}/events/<key>`` or a remote one by its row id ``r<id>``."""
    found: Meetup | None = None
    if key.startswith("r") and key[1:].isdigit():
        found = await db.get(Meetup, int(key[1:]))
    elif key.isalnum() and len(key) <= 64:
        found = await find_by_ap_id(db, settings.url(f"/events/{key}"))
    if found is None:
        raise NotFound("This event does not exist.")
    return found


async def participation_of(
    db: AsyncSession, meetup: Meetup, actor: Actor | None
) -> MeetupParticipant | None:
    """``actor``'s participation row in ``meetup`` (any state), or None."""
    if actor is None:
        return None
    return await db.scalar(
        select(MeetupParticipant).where(
            MeetupParticipant.meetup_id == meetup.id, MeetupParticipant.actor_id == actor.id
        )
    )


async def participants(
    db: AsyncSession, meetup: Meetup, state: str = "accepted"
) -> list[MeetupParticipant]:
    """Participations in ``state``, oldest first."""
    rows = await db.scalars(
        select(MeetupParticipant)
        .where(MeetupParticipant.meetup_id == meetup.id, MeetupParticipant.state == state)
        .order_by(MeetupParticipant.created_at, MeetupParticipant.id)
    )
    return list(rows.unique().all())


async def accepted_count(db: AsyncSession, meetup: Meetup) -> int:
    """How many take part (as far as we know: our own count for a remote meetup)."""
    counted = await db.scalar(
        select(func.count(MeetupParticipant.id)).where(
            MeetupParticipant.meetup_id == meetup.id, MeetupParticipant.state == "accepted"
        )
    )
    return int(counted or 0)


async def upcoming(
    db: AsyncSession,
    *,
    tribe: Tribe | None = None,
    person: Actor | None = None,
    now: datetime | None = None,
    limit: int = 100,
    with_pending: bool = True,
) -> list[Meetup]:
    """Meetups not yet over, soonest first: all, a tribe's, or those ``person`` organises
    or takes part in (requests still waiting too, unless ``with_pending`` is false).
    Deleted ones are left out; cancelled ones stay (marked on the pages)."""
    query = select(Meetup).where(
        Meetup.deleted_at.is_(None), Meetup.ends_at >= (now or utcnow())
    )
    if tribe is not None:
        query = query.where(Meetup.tribe_id == tribe.id)
    if person is not None:
        joined = select(MeetupParticipant.meetup_id).where(
            MeetupParticipant.actor_id == person.id,
            MeetupParticipant.state.in_(("accepted", "pending") if with_pending else ("accepted",)),
        )
        query = query.where((Meetup.organiser_id == person.id) | Meetup.id.in_(joined))
    rows = await db.scalars(query.order_by(Meetup.starts_at, Meetup.id).limit(limit))
    return list(rows.unique().all())


async def may_manage(db: AsyncSession, meetup: Meetup, actor: Actor | None) -> bool:
    """Whether ``actor`` may edit, cancel and delete ``meetup`` and decide on requests:
    its organiser, or an admin or moderator of its tribe (ours only)."""
    if actor is None or not meetup.local:
        return False
    if actor.id == meetup.organiser_id:
        return True
    if meetup.tribe is None:
        return False
    return role_at_least(await role_of(db, meetup.tribe, actor), "moderator")


async def _require_manage(db: AsyncSession, meetup: Meetup, actor: Actor) -> None:
    if meetup.deleted_at is not None:
        raise NotFound("This event does not exist.")
    if not await may_manage(db, meetup, actor):
        raise Forbidden("Only the organisers of this event may do this.")


# ------------------------------------------------------------------ organising


async def create_meetup(
    db: AsyncSession,
    settings: Settings,
    organiser: Actor,
    tribe: Tribe,
    *,
    initiative: Initiative | None = None,
    ap_id: str | None = None,
    **fields: Any,
) -> Meetup:
    """``organiser`` (an active member) organises a meetup in our ``tribe``.

    ``ap_id`` lets the C2S outbox keep an id it minted; by default a fresh one.
    """
    if not tribe.actor.local:
        raise Forbidden("Events are organised in the tribe's own server.")
    if not organiser.local:
        raise Forbidden("Only people of this server organise events here.")
    if not role_at_least(await role_of(db, tribe, organiser), "member"):
        raise Forbidden("Only members of this tribe may do this.")
    if initiative is not None and initiative.tribe_id != tribe.id:
        raise ServiceError("This initiative is not part of this tribe.")
    for needed in ("title", "starts_at", "ends_at"):
        fields.setdefault(needed, None)
    clean = check_fields(**fields)
    clean.setdefault("status", "confirmed")
    if clean["status"] == "cancelled":
        raise ServiceError("A new event cannot be cancelled already.", field="status")
    meetup = Meetup(
        ap_id=ap_id or meetup_id(settings), local=True, tribe_id=tribe.id,
        initiative_id=initiative.id if initiative else None, organiser_id=organiser.id,
        url=None, **clean,
    )
    meetup.organiser = organiser
    meetup.tribe = tribe
    meetup.initiative = initiative
    db.add(meetup)
    await db.flush()
    # The organiser takes part in their own event.
    db.add(MeetupParticipant(
        meetup_id=meetup.id, actor_id=organiser.id, state="accepted", decided_at=utcnow(),
    ))
    await db.flush()
    await emit(db, settings, MeetupCreated(meetup, organiser))
    return meetup


async def update_meetup(
    db: AsyncSession, settings: Settings, meetup: Meetup, actor: Actor, **fields: Any
) -> Meetup:
    """An organiser edits the meetup; every participant hears of it (``Update{Event}``).

    Setting ``status`` to cancelled is a cancellation (:func:`cancel_meetup`).
    """
    await _require_manage(db, meetup, actor)
    fields = {k: v for k, v in fields.items() if k in EDITABLE}
    fields.setdefault("timezone", meetup.timezone)
    if ("starts_at" in fields) != ("ends_at" in fields):
        fields.setdefault("starts_at", meetup.starts_at)
        fields.setdefault("ends_at", meetup.ends_at)
    clean = check_fields(**fields)
    if clean.get("capacity") is not None and clean["capacity"] < await accepted_count(
        db, meetup
    ):
        raise Conflict("More people take part already.", field="capacity")
    was_cancelled = meetup.status == "cancelled"
    for name, value in clean.items():
        setattr(meetup, name, value)
    meetup.updated_at = utcnow()
    await db.flush()
    if meetup.status == "cancelled" and not was_cancelled:
        await _tell_cancelled(db, meetup, actor)
        await emit(db, settings, MeetupCancelled(meetup, actor))
    else:
        await emit(db, settings, MeetupUpdated(meetup, actor))
    return meetup


async def _tell_cancelled(db: AsyncSession, meetup: Meetup, by: Actor) -> None:
    """Notify the local participants (remote ones hear of it from the ``Update``)."""
    people = [p.actor for p in await participants(db, meetup)]
    await notify(
        db, people, "meetup_cancelled", by=by,
        payload={"meetup": meetup.id, "key": page_key(meetup), "title": meetup.title},
    )


async def cancel_meetup(
    db: AsyncSession, settings: Settings, meetup: Meetup, actor: Actor
) -> Meetup:
    """An organiser cancels the meetup (it stays visible, marked cancelled)."""
    await _require_manage(db, meetup, actor)
    if meetup.status == "cancelled":
        return meetup
    meetup.status = "cancelled"
    meetup.updated_at = utcnow()
    await db.flush()
    await _tell_cancelled(db, meetup, actor)
    await emit(db, settings, MeetupCancelled(meetup, actor))
    return meetup


async def delete_meetup(
    db: AsyncSession, settings: Settings, meetup: Meetup, actor: Actor
) -> None:
    """An organiser deletes the meetup: a tombstone remains, participations end."""
    await _require_manage(db, meetup, actor)
    meetup.deleted_at = utcnow()
    await db.flush()
    # Emitted before the participations go, so the Delete reaches every participant.
    await emit(db, settings, MeetupDeleted(meetup, actor))
    await db.execute(delete(MeetupParticipant).where(MeetupParticipant.meetup_id == meetup.id))
    await db.flush()


# ------------------------------------------------------------------ taking part


async def _check_open(db: AsyncSession, meetup: Meetup, now: datetime) -> None:
    if meetup.deleted_at is not None:
        raise NotFound("This event does not exist.")
    if meetup.status == "cancelled":
        raise Conflict("This event has been cancelled.")
    if meetup.ends_at <= now:
        raise Conflict("This event is over.")


async def _check_room(db: AsyncSession, meetup: Meetup) -> None:
    if meetup.capacity is not None and await accepted_count(db, meetup) >= meetup.capacity:
        raise Conflict("This event is full.")


async def join(
    db: AsyncSession,
    settings: Settings,
    meetup: Meetup,
    actor: Actor,
    *,
    activity_id: str | None = None,
    message: str = "",
) -> MeetupParticipant:
    """``actor`` asks to take part; returns the participation (accepted or pending).

    Ours: by the join mode and capacity (see the module notes). Remote: the request is
    pending until the event's server answers (``activity_id`` is then our ``Join``).
    Joining again returns the row (``activity_id`` updated, so a repeated Join is answered
    again). Raises ``Forbidden``/``Conflict`` with the reason for a refusal.
    """
    now = utcnow()
    existing = await participation_of(db, meetup, actor)
    if existing is not None and existing.state in ("accepted", "pending"):
        if activity_id:
            existing.activity_ap_id = activity_id
            await db.flush()
        return existing
    await _check_open(db, meetup, now)
    if meetup.local:
        tribe = meetup.tribe
        if tribe is not None and await is_blocked(db, tribe, actor):
            raise Forbidden("You cannot join this event.")
        if meetup.join_mode == "members" and (
            tribe is None or not role_at_least(await role_of(db, tribe, actor), "member")
        ):
            raise Forbidden("Only members of this tribe may join this event.")
        await _check_room(db, meetup)
        state = "pending" if meetup.join_mode == "approval" else "accepted"
    else:
        if not actor.local:
            raise Forbidden("Only people of this server join events through it.")
        state = "pending"
        activity_id = new_activity_id(settings, "join")
    if existing is None:
        existing = MeetupParticipant(meetup_id=meetup.id, actor_id=actor.id)
        existing.actor = actor
        db.add(existing)
    existing.state = state
    existing.message = str(message or "")[:2000]
    existing.activity_ap_id = activity_id
    existing.created_at = now
    existing.decided_at = now if state == "accepted" else None
    await db.flush()
    await emit(db, settings, ParticipationRequested(meetup, actor, existing))
    return existing


async def decide(
    db: AsyncSession,
    settings: Settings,
    meetup: Meetup,
    by: Actor,
    participant_id: int,
    *,
    accept: bool,
) -> MeetupParticipant:
    """An organiser accepts or rejects a pending request (accepting checks capacity)."""
    await _require_manage(db, meetup, by)
    row = await db.get(MeetupParticipant, participant_id)
    if row is None or row.meetup_id != meetup.id or row.state != "pending":
        raise NotFound("This request does not exist (any more).")
    if accept:
        await _check_room(db, meetup)
    return await _settle(db, settings, meetup, by, row, accepted=accept)


async def leave(
    db: AsyncSession, settings: Settings, meetup: Meetup, actor: Actor
) -> MeetupParticipant:
    """``actor`` leaves (or withdraws a request). The organiser of our meetup cannot leave
    it: they cancel it instead."""
    row = await participation_of(db, meetup, actor)
    if row is None or row.state == "rejected":
        raise NotFound("You do not take part in this event.")
    if meetup.local and actor.id == meetup.organiser_id:
        raise Conflict("The organiser cannot leave; cancel the event instead.")
    await db.delete(row)
    await db.flush()
    await emit(db, settings, ParticipationLeft(meetup, actor, row))
    return row


async def answer_remote_join(
    db: AsyncSession,
    settings: Settings,
    meetup: Meetup,
    participant: MeetupParticipant,
    by: Actor,
    *,
    accepted: bool,
) -> MeetupParticipant:
    """The remote event's server (``by``) accepted or rejected our person's ``Join``."""
    return await _settle(db, settings, meetup, by, participant, accepted=accepted)


async def _settle(
    db: AsyncSession,
    settings: Settings,
    meetup: Meetup,
    by: Actor,
    row: MeetupParticipant,
    *,
    accepted: bool,
) -> MeetupParticipant:
    """Mark a request accepted or rejected by ``by`` (an organiser of ours, or the remote
    event's server) and emit the decision."""
    row.state = "accepted" if accepted else "rejected"
    row.decided_at = utcnow()
    await db.flush()
    await emit(db, settings, ParticipationDecided(meetup, by, row))
    return row


# ------------------------------------------------------------------ remote meetups


async def record_remote_meetup(
    db: AsyncSession,
    organiser: Actor,
    ap_id: str,
    *,
    tribe: Tribe | None,
    group_ap_id: str | None,
    url: str | None,
    raw: dict[str, Any],
    participant_count: int | None,
    description_html: str,
    **fields: Any,
) -> Meetup:
    """Keep (or refresh) a remote meetup with the fields its ``Event`` gave.

    A cancellation (``status`` becoming cancelled) tells our participants through a
    notification, the way they would have heard it from a local organiser.
    """
    clean = check_fields(**fields)
    meetup = await find_by_ap_id(db, ap_id)
    if meetup is None:
        meetup = Meetup(ap_id=ap_id, local=False, organiser_id=organiser.id)
        meetup.organiser = organiser
        db.add(meetup)
    elif meetup.local or meetup.organiser_id != organiser.id:
        raise Forbidden("Only the organiser changes an event.")
    was_cancelled = meetup.status == "cancelled"
    for name, value in clean.items():
        setattr(meetup, name, value)
    meetup.description_html = description_html
    meetup.tribe_id = tribe.id if tribe is not None else None
    meetup.group_ap_id = group_ap_id
    meetup.url = url
    meetup.raw = raw
    meetup.remote_participant_count = participant_count
    meetup.deleted_at = None
    meetup.updated_at = utcnow()
    await db.flush()
    if meetup.status == "cancelled" and not was_cancelled:
        await _tell_cancelled(db, meetup, organiser)
    return meetup


async def remote_deleted(db: AsyncSession, meetup: Meetup) -> None:
    """The remote organiser deleted their event: keep a tombstone, drop participations."""
    meetup.deleted_at = utcnow()
    await db.execute(delete(MeetupParticipant).where(MeetupParticipant.meetup_id == meetup.id))
    await db.flush()


# ------------------------------------------------------------------ reminders


async def send_reminders(
    db: AsyncSession, now: datetime | None = None, *, ahead: timedelta = timedelta(days=1)
) -> int:
    """Remind local participants of meetups starting within ``ahead`` (once per meetup).

    Uses the in-app notifications (``fedi.domain.notifications.notify``, kind
    ``meetup_reminder``); returns how many meetups were reminded. Run daily or more often.
    """
    moment = now or utcnow()
    due = (await db.scalars(
        select(Meetup).where(
            Meetup.deleted_at.is_(None), Meetup.status != "cancelled",
            Meetup.reminded_at.is_(None), Meetup.starts_at > moment,
            Meetup.starts_at <= moment + ahead,
        )
    )).unique().all()
    for meetup in due:
        people = [p.actor for p in await participants(db, meetup)]
        await notify(
            db, people, REMINDER_KIND,
            payload={
                "meetup": meetup.id, "key": page_key(meetup), "title": meetup.title,
                "starts_at": meetup.starts_at.isoformat(),
            },
        )
        await db.execute(
            update(Meetup).where(Meetup.id == meetup.id).values(reminded_at=moment)
        )
    await db.flush()
    return len(due)
