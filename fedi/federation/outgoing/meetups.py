"""Subscribers to the meetup domain events: what we send when a meetup changes.

Only changes a *local* person made are sent (the event's ``actor``), so nothing received is
echoed back. One exception: a remote person's ``Join`` of our meetup that the rules accept
at once is answered with ``Accept{Join}`` from the organiser (an answer of ours, not a send
on the remote person's behalf; Mobilizon waits for it).

=======================  ==================================================================
event                    activity
=======================  ==================================================================
MeetupCreated            ``Create{Event}`` by the organiser, to Public, cc the tribe and the
                         organiser's followers; the tribe announces it and boosts the Event
MeetupUpdated            ``Update{Event}`` by the organiser, also cc every remote participant
MeetupCancelled          the same ``Update{Event}`` with ``ical:status`` CANCELLED
MeetupDeleted            ``Delete`` of the Event id, cc every remote participant
ParticipationRequested   ours joins a remote meetup: ``Join{Event}`` to the organiser (and
                         the group); a remote Join accepted at once: ``Accept{Join}``
ParticipationDecided     an organiser decided on a remote request: ``Accept``/``Reject{Join}``
ParticipationLeft        ours leaves a remote meetup: ``Leave{Event}``
=======================  ==================================================================

The organiser sends every activity about the Event because Mastodon honours an ``Update``
only from the object's author; the tribe (when ours) then announces it to its followers
(FEP-1b12, ``tribe_distribution.distribute``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.builders import (
    build_accept,
    build_create,
    build_delete,
    build_join,
    build_leave,
    build_reject,
    build_update,
)
from fedi.domain.events import subscribes
from fedi.domain.events_meetups import (
    MeetupCreated,
    MeetupDeleted,
    MeetupEvent,
    MeetupUpdated,
    ParticipationDecided,
    ParticipationLeft,
    ParticipationRequested,
)
from fedi.domain.meetups import accepted_count
from fedi.federation.documents.meetups import event_addressing, event_context, event_document
from fedi.federation.outgoing.publish import new_activity_id, publish
from fedi.federation.outgoing.tribe_distribution import distribute, undo_announces
from fedi.settings import Settings
from models import Actor, Meetup, MeetupParticipant

__all__ = ["join_activity", "remote_participants", "send_about_event"]


async def remote_participants(db: AsyncSession, meetup: Meetup) -> list[str]:
    """Ids of the remote actors taking part or waiting (they hear of every change)."""
    rows = await db.execute(
        select(Actor.ap_id)
        .join(MeetupParticipant, MeetupParticipant.actor_id == Actor.id)
        .where(
            MeetupParticipant.meetup_id == meetup.id, Actor.local.is_(False),
            MeetupParticipant.state.in_(("accepted", "pending")),
        )
        .order_by(MeetupParticipant.id)
    )
    return [row[0] for row in rows.all()]


async def send_about_event(
    db: AsyncSession, settings: Settings, meetup: Meetup, kind: str, *, boost: bool = False
) -> dict[str, Any]:
    """Publish ``Create``/``Update``/``Delete`` of our meetup's Event from its organiser,
    and let the tribe announce it."""
    organiser = meetup.organiser
    to, cc = event_addressing(meetup, *await remote_participants(db, meetup))
    activity_id = new_activity_id(settings, kind.lower())
    if kind == "Delete":
        activity = build_delete(activity_id, organiser.ap_id, meetup.ap_id, to, cc)
    else:
        doc = event_document(settings, meetup, await accepted_count(db, meetup))
        doc["cc"] = cc
        build = build_create if kind == "Create" else build_update
        activity = build(activity_id, organiser.ap_id, doc, to, cc)
    activity["@context"] = event_context(settings)
    if meetup.tribe is not None:
        activity["audience"] = meetup.tribe.actor.ap_id
    await publish(db, settings, organiser, activity, to_local=False)
    if meetup.tribe is not None and meetup.tribe.actor.local:
        await distribute(db, settings, meetup.tribe, activity, boost=boost)
    return activity


def join_activity(meetup: Meetup, participant: MeetupParticipant) -> dict[str, Any]:
    """The ``Join{Event}`` a participation answers (as received, or rebuilt from its id)."""
    return build_join(
        participant.activity_ap_id or f"{participant.actor.ap_id}#join-{meetup.id}",
        participant.actor.ap_id, meetup.ap_id,
    )


async def _answer(
    db: AsyncSession, settings: Settings, meetup: Meetup, participant: MeetupParticipant
) -> None:
    """``Accept``/``Reject`` of a remote person's Join, from the organiser."""
    build = build_accept if participant.state == "accepted" else build_reject
    answer = build(
        new_activity_id(settings, "answer"), meetup.organiser.ap_id,
        join_activity(meetup, participant),
    )
    answer["to"] = [participant.actor.ap_id]
    await publish(db, settings, meetup.organiser, answer, to_local=False)


@subscribes(MeetupCreated)
async def on_created(db: AsyncSession, settings: Settings, event: MeetupEvent) -> None:
    """A new meetup of ours: ``Create{Event}`` (boosted by the tribe)."""
    if event.actor.local and event.meetup.local:
        await send_about_event(db, settings, event.meetup, "Create", boost=True)


@subscribes(MeetupUpdated)
async def on_updated(db: AsyncSession, settings: Settings, event: MeetupEvent) -> None:
    """An edit or cancellation: ``Update{Event}`` to the audience and every participant."""
    if event.actor.local and event.meetup.local:
        await send_about_event(db, settings, event.meetup, "Update")


@subscribes(MeetupDeleted)
async def on_deleted(db: AsyncSession, settings: Settings, event: MeetupEvent) -> None:
    """A deletion: the tribe's boosts of the Event undone, then ``Delete`` of its id."""
    meetup = event.meetup
    if event.actor.local and meetup.local:
        if meetup.tribe is not None and meetup.tribe.actor.local:
            await undo_announces(db, settings, meetup.tribe, meetup.ap_id)
        await send_about_event(db, settings, meetup, "Delete")


@subscribes(ParticipationRequested)
async def on_requested(
    db: AsyncSession, settings: Settings, event: ParticipationRequested
) -> None:
    """Ours asks to join a remote meetup (``Join``); a remote request our rules accepted
    at once is answered (``Accept``). A pending remote request waits for an organiser."""
    meetup, participant = event.meetup, event.participant
    if not meetup.local and event.actor.local:
        recipients = [meetup.organiser.ap_id]
        if meetup.group_ap_id:
            recipients.append(meetup.group_ap_id)
        join = build_join(
            participant.activity_ap_id or new_activity_id(settings, "join"),
            event.actor.ap_id, meetup.ap_id, to=recipients,
        )
        await publish(db, settings, event.actor, join, to_local=False)
    elif meetup.local and not participant.actor.local and participant.state == "accepted":
        await _answer(db, settings, meetup, participant)
    elif meetup.local and event.actor.id != meetup.organiser_id:
        # Ours joins ours: no server needs telling, but the Join is the person's activity
        # like any other (their outbox; the id a C2S client gets back), addressed to the
        # organiser, who finds it in their inbox.
        join = build_join(
            new_activity_id(settings, "join"), event.actor.ap_id, meetup.ap_id,
            to=[meetup.organiser.ap_id],
        )
        participant.activity_ap_id = participant.activity_ap_id or join["id"]
        await publish(db, settings, event.actor, join)


@subscribes(ParticipationDecided)
async def on_decided(db: AsyncSession, settings: Settings, event: ParticipationDecided) -> None:
    """An organiser of ours decided on a remote person's request: answer their Join."""
    meetup, participant = event.meetup, event.participant
    if meetup.local and event.actor.local and not participant.actor.local:
        await _answer(db, settings, meetup, participant)


@subscribes(ParticipationLeft)
async def on_left(db: AsyncSession, settings: Settings, event: ParticipationLeft) -> None:
    """Ours leaves a meetup: ``Leave{Event}`` to its organiser (and the group of a remote
    one); leaving one of ours only reaches the organiser's inbox here."""
    meetup = event.meetup
    if not event.actor.local:
        return
    recipients = [meetup.organiser.ap_id]
    if meetup.group_ap_id and not meetup.local:
        recipients.append(meetup.group_ap_id)
    leave = build_leave(
        new_activity_id(settings, "leave"), event.actor.ap_id, meetup.ap_id, to=recipients
    )
    await publish(db, settings, event.actor, leave, to_local=meetup.local)
