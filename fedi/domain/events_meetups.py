"""The domain events of meetups: one per change the meetup services make.

Each names the meetup and the ``actor`` who made the change (a local person for a change
made here, a remote one for a change an incoming activity applied). The services emit them
after the change is flushed; ``fedi.federation.outgoing.meetups`` subscribes and sends the
activities for changes a local person made.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import Actor, Meetup, MeetupParticipant

__all__ = [
    "MeetupCancelled",
    "MeetupCreated",
    "MeetupDeleted",
    "MeetupEvent",
    "MeetupUpdated",
    "ParticipationDecided",
    "ParticipationEvent",
    "ParticipationLeft",
    "ParticipationRequested",
]


@dataclass(frozen=True)
class MeetupEvent(DomainEvent):
    """Something changed about ``meetup``; ``actor`` made the change."""

    meetup: Meetup
    actor: Actor


@dataclass(frozen=True)
class MeetupCreated(MeetupEvent):
    """A new meetup (``actor`` is its organiser)."""


@dataclass(frozen=True)
class MeetupUpdated(MeetupEvent):
    """Fields of a meetup changed (times, place, status...)."""


@dataclass(frozen=True)
class MeetupCancelled(MeetupUpdated):
    """The meetup's status became ``cancelled`` (an update every participant must hear)."""


@dataclass(frozen=True)
class MeetupDeleted(MeetupEvent):
    """It was deleted (``deleted_at`` is set; the row stays as a tombstone)."""


@dataclass(frozen=True)
class ParticipationEvent(MeetupEvent):
    """Something changed about ``participant`` (``actor`` made the change)."""

    participant: MeetupParticipant


@dataclass(frozen=True)
class ParticipationRequested(ParticipationEvent):
    """``participant.actor`` asked to join (state accepted, or pending when it waits)."""


@dataclass(frozen=True)
class ParticipationDecided(ParticipationEvent):
    """An organiser (``actor``) accepted or rejected a pending request, or the remote
    event's server answered our Join (``participant.state`` says which)."""


@dataclass(frozen=True)
class ParticipationLeft(ParticipationEvent):
    """``participant.actor`` left (or withdrew a request); the row is gone."""
