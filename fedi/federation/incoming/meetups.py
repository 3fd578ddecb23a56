"""Inbound activities about meetups: joins and leaves of ours, answers to our joins, and
remote ``Event`` objects kept as meetups.

The handler modules (``handlers/join.py``, ``leave.py``, ``undo.py``, ``accept.py``,
``reject.py``) ask these ``claim_*`` functions first; a claim returns True when the activity
was about a meetup (handled here) and False to let the other receivers try.

* ``Join{Event}`` of our meetup (Mobilizon, Mastodon-side tools, another instance of ours):
  ``fedi.domain.meetups.join`` by the join mode; accepted at once is answered ``Accept``
  (``outgoing.meetups``), pending waits for an organiser, refused is answered ``Reject``;
* ``Leave{Event}`` and ``Undo{Join{Event}}``: the participation ends;
* ``Accept``/``Reject`` of our person's ``Join`` of a remote event, from that event's host;
* a remote ``Event`` stored as a post (``incoming.posts``) is also kept as a meetup row
  (``remember_event``), so it is listed, shown and joinable; its edits and deletion follow.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import build_reject
from activitypub.normalize import AsObject
from activitypub.vocab import host_of, id_of
from fedi.domain import meetups
from fedi.domain.errors import ServiceError
from fedi.domain.tribes import find_tribe_by_actor
from fedi.federation.documents.meetups import event_fields, group_of, remote_description
from fedi.federation.outgoing.meetups import join_activity
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.settings import Settings
from fedi.state import AppState
from models import Actor, Meetup, MeetupParticipant

log = logging.getLogger(__name__)

__all__ = [
    "claim_answer",
    "claim_join",
    "claim_leave",
    "claim_undo",
    "forget_event",
    "remember_event",
]


async def _local_meetup(
    db: AsyncSession, state: AppState, activity: dict[str, Any]
) -> Meetup | None:
    """Our meetup that ``activity`` (a Join or Leave) is about, or None."""
    ident = id_of(activity.get("object"))
    if not ident or not state.settings.is_local_id(ident):
        return None
    meetup = await meetups.find_by_ap_id(db, ident)
    return meetup if meetup is not None and meetup.local else None


async def claim_join(
    db: AsyncSession, state: AppState, actor: Actor, activity: dict[str, Any]
) -> bool:
    """``Join{Event}`` of one of our meetups: join by its rules, refuse with ``Reject``."""
    meetup = await _local_meetup(db, state, activity)
    if meetup is None:
        return False
    activity_id = id_of(activity.get("id"))
    message = activity.get("participationMessage")
    try:
        # Every refusal is raised before anything is written.
        await meetups.join(
            db, state.settings, meetup, actor, activity_id=activity_id,
            message=message if isinstance(message, str) else "",
        )
    except ServiceError as exc:
        log.info("join of %s by %s refused: %s", meetup.ap_id, actor.ap_id, exc)
        refused = MeetupParticipant(meetup_id=meetup.id, actor_id=actor.id, state="rejected")
        refused.actor = actor
        refused.activity_ap_id = activity_id
        reject = build_reject(
            new_activity_id(state.settings, "reject"), meetup.organiser.ap_id,
            join_activity(meetup, refused),
        )
        reject["to"] = [actor.ap_id]
        reject["summary"] = exc.message % exc.values if exc.values else exc.message
        await publish(db, state.settings, meetup.organiser, reject, to_local=False)
    return True


async def claim_leave(
    db: AsyncSession, state: AppState, actor: Actor, activity: dict[str, Any]
) -> bool:
    """``Leave{Event}`` of one of our meetups."""
    meetup = await _local_meetup(db, state, activity)
    if meetup is None:
        return False
    await _leave(db, state.settings, meetup, actor)
    return True


async def _leave(db: AsyncSession, settings: Settings, meetup: Meetup, actor: Actor) -> None:
    try:
        await meetups.leave(db, settings, meetup, actor)
    except ServiceError as exc:
        log.info("leave of %s by %s ignored: %s", meetup.ap_id, actor.ap_id, exc)


async def claim_undo(
    db: AsyncSession, state: AppState, actor: Actor, activity: dict[str, Any]
) -> bool:
    """``Undo{Join{Event}}`` (embedded, or the Join's id we stored): the sender leaves."""
    inner = activity.get("object")
    meetup: Meetup | None = None
    if isinstance(inner, dict) and inner.get("type") == "Join":
        meetup = await _local_meetup(db, state, inner)
    else:
        inner_id = id_of(inner)
        if inner_id:
            row = await db.scalar(
                select(MeetupParticipant).where(
                    MeetupParticipant.activity_ap_id == inner_id,
                    MeetupParticipant.actor_id == actor.id,
                )
            )
            meetup = await db.get(Meetup, row.meetup_id) if row is not None else None
    if meetup is None or not meetup.local:
        return False
    await _leave(db, state.settings, meetup, actor)
    return True


async def claim_answer(
    db: AsyncSession, state: AppState, actor: Actor, activity: dict[str, Any]
) -> bool:
    """``Accept``/``Reject`` of our person's ``Join`` of a remote meetup, from its host."""
    inner = activity.get("object")
    row: MeetupParticipant | None = None
    if isinstance(inner, dict):
        inner_id = id_of(inner.get("id"))
        if inner_id:
            row = await _our_join(db, inner_id)
        if row is None and inner.get("type") == "Join":
            meetup = await meetups.find_by_ap_id(db, id_of(inner.get("object")))
            joiner = id_of(inner.get("actor"))
            if meetup is not None and not meetup.local and joiner:
                row = await db.scalar(
                    select(MeetupParticipant).join(Actor, Actor.id == MeetupParticipant.actor_id)
                    .where(MeetupParticipant.meetup_id == meetup.id, Actor.ap_id == joiner)
                )
    else:
        inner_id = id_of(inner)
        row = await _our_join(db, inner_id) if inner_id else None
    if row is None:
        return False
    meetup = await db.get(Meetup, row.meetup_id)
    if meetup is None or meetup.local or host_of(actor.ap_id) != host_of(meetup.ap_id):
        return False
    await meetups.answer_remote_join(
        db, state.settings, meetup, row, actor, accepted=activity.get("type") == "Accept"
    )
    return True


async def _our_join(db: AsyncSession, join_id: str) -> MeetupParticipant | None:
    return await db.scalar(
        select(MeetupParticipant).where(MeetupParticipant.activity_ap_id == join_id)
    )


# ------------------------------------------------------------------ remote events


async def remember_event(db: AsyncSession, author: Actor, obj: AsObject) -> Meetup | None:
    """Keep the remote ``Event`` ``obj`` by ``author`` (its organiser) as a meetup row.

    Called by ``incoming.posts`` whenever it stores or edits a remote Event as a post. An
    Event without usable times is only a post (None).
    """
    # Only remote objects reach here: incoming.posts refuses one not on its author's host.
    if obj.id is None or "Event" not in obj.types or author.local:
        return None
    try:
        fields = event_fields(obj)
    except (KeyError, ValueError, TypeError) as exc:
        log.info("event %s kept as a post only: %r", obj.id, exc)
        return None
    group_id = group_of(obj.raw, author.ap_id)
    tribe = None
    if group_id:
        group = await db.scalar(select(Actor).where(Actor.ap_id == group_id))
        tribe = await find_tribe_by_actor(db, group) if group is not None else None
    count = obj.raw.get("participantCount")
    try:
        # Every refusal is raised before anything is written.
        return await meetups.record_remote_meetup(
            db, author, obj.id, tribe=tribe, group_ap_id=group_id,
            url=obj.url if obj.url and len(obj.url) <= 2048 else None,
            raw={k: v for k, v in obj.raw.items() if k != "@context"},
            participant_count=count if isinstance(count, int) else None,
            description_html=remote_description(obj), **fields,
        )
    except ServiceError as exc:
        log.info("event %s kept as a post only: %s", obj.id, exc)
        return None


async def forget_event(db: AsyncSession, ap_id: str) -> None:
    """The remote Event ``ap_id`` was deleted at its origin: tombstone our meetup row."""
    meetup = await meetups.find_by_ap_id(db, ap_id)
    if meetup is not None and not meetup.local and meetup.deleted_at is None:
        await meetups.remote_deleted(db, meetup)
