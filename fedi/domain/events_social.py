"""The domain events of the social side: notes, follows and reactions.

Each event names the rows the change concerns and the ``actor`` who made it (always a local
person for these: the services refuse anyone else), and ``activity_id``: the id the domain
minted for the activity that announces the change, so a caller (the C2S outbox) can find
what was sent. The services emit them after the change
is flushed; ``fedi.federation.outgoing.{notes,follows,reactions}`` subscribe and send the
activities. Local consequences (a local account accepting a local follow, a local tribe
taking a local post) are applied by the services themselves, not by a subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import Actor, ApObject, Follow, Reaction

__all__ = [
    "FollowAccepted",
    "FollowEvent",
    "FollowRejected",
    "FollowRequested",
    "FollowUndone",
    "FollowerRemoved",
    "NoteCreated",
    "NoteDeleted",
    "NoteEvent",
    "NoteUpdated",
    "Reacted",
    "Unreacted",
]


@dataclass(frozen=True)
class NoteEvent(DomainEvent):
    """Something happened to ``note``, written by ``actor``."""

    actor: Actor
    note: ApObject
    activity_id: str


@dataclass(frozen=True)
class NoteCreated(NoteEvent):
    """``actor`` wrote ``note`` (its payload is the AS2 object, addressed)."""


@dataclass(frozen=True)
class NoteUpdated(NoteEvent):
    """``actor`` edited ``note``; ``to``/``cc`` reach everyone who had it before too."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoteDeleted(NoteEvent):
    """``actor`` deleted ``note`` (a Tombstone now); ``to``/``cc`` are who had it."""

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowEvent(DomainEvent):
    """A change to the follow of ``follower`` → ``followed``; ``actor`` made it.

    ``follow_id`` is the id of the ``Follow`` the row stands for (the row itself may be
    deleted by now); ``activity_id`` the id of the activity that tells of the change (for
    :class:`FollowRequested` the two are the same).
    """

    actor: Actor
    follower: Actor
    followed: Actor
    follow_id: str
    activity_id: str


@dataclass(frozen=True)
class FollowRequested(FollowEvent):
    """The local ``follower`` asked to follow ``followed`` (``actor`` is the follower)."""

    follow: Follow | None = None


@dataclass(frozen=True)
class FollowAccepted(FollowEvent):
    """``followed`` (the actor) accepted the request, by hand or at once (unlocked)."""


@dataclass(frozen=True)
class FollowRejected(FollowEvent):
    """``followed`` (the actor) turned a pending request down."""


@dataclass(frozen=True)
class FollowerRemoved(FollowEvent):
    """``followed`` (the actor) removed an accepted follower."""


@dataclass(frozen=True)
class FollowUndone(FollowEvent):
    """``follower`` (the actor) stopped following or withdrew the request."""


@dataclass(frozen=True)
class Reacted(DomainEvent):
    """``actor`` liked or boosted ``note`` (written by ``author``): ``reaction`` is new, and
    its ``activity_ap_id`` is the id of the Like/Announce."""

    actor: Actor
    reaction: Reaction
    note: ApObject
    author: Actor


@dataclass(frozen=True)
class Unreacted(DomainEvent):
    """``actor`` took a like or boost of ``object_ap_id`` back (``reaction`` is deleted)."""

    actor: Actor
    reaction: Reaction
    object_ap_id: str
    author: Actor | None
    activity_id: str
