"""The domain events of polls: created, edited, voted in, closed, cancelled.

The poll services (``fedi.domain.polls``) emit them after the change is flushed;
``fedi.federation.outgoing.polls`` subscribes and sends ``Create``/``Update``/``Delete``
of the ``Question`` (a vote of a local person in a remote poll becomes the Mastodon-shaped
vote ``Note`` sent to the poll's author). ``actor`` is who made the change: a remote voter
when an incoming vote applied it, so nothing is echoed back except the poll's own
``Update`` from its local author.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import Actor, Poll, PollVote

__all__ = [
    "PollClosed",
    "PollCreated",
    "PollDeleted",
    "PollEvent",
    "PollUpdated",
    "PollVoted",
]


@dataclass(frozen=True)
class PollEvent(DomainEvent):
    """Something changed about ``poll``; ``actor`` made the change."""

    actor: Actor
    poll: Poll


@dataclass(frozen=True)
class PollCreated(PollEvent):
    """A poll was created by its organiser (the actor)."""


@dataclass(frozen=True)
class PollUpdated(PollEvent):
    """The organiser edited the question, the closing time or the options."""


@dataclass(frozen=True)
class PollVoted(PollEvent):
    """``actor`` voted: ``votes`` are the new rows (one per chosen option)."""

    votes: tuple[PollVote, ...]


@dataclass(frozen=True)
class PollClosed(PollEvent):
    """The poll closed (its time ran out, or the organiser closed it); the result is final.
    ``actor`` is the organiser (also when the clock closed it)."""


@dataclass(frozen=True)
class PollDeleted(PollEvent):
    """The organiser cancelled or deleted the poll (it answers 410 from now on)."""
