"""The domain events of initiatives: one per change the initiative services make.

Each event names the initiative, the rows the change concerns and the ``actor`` who made
it (a local person for a change made here, a remote one for a change an incoming activity
applied). The services emit them with :func:`fedi.domain.events.emit` after the change is
flushed; ``fedi.federation.outgoing.initiatives`` subscribes and sends the activities for
changes a local person made.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import (
    Actor,
    Comment,
    Contribution,
    Initiative,
    InitiativePartner,
    InitiativeUpdate,
    Rating,
    Task,
)

__all__ = [
    "CommentCreated",
    "CommentDeleted",
    "CommentEvent",
    "CommentUpdated",
    "ContributionDecided",
    "ContributionEvent",
    "ContributionOffered",
    "ContributionRated",
    "ContributionWithdrawn",
    "InitiativeArchived",
    "InitiativeCreated",
    "InitiativeDeleted",
    "InitiativeEvent",
    "InitiativeUpdated",
    "MessagePosted",
    "PartnerAdded",
    "PartnerEvent",
    "PartnerLeft",
    "PartnershipDeclined",
    "PartnershipRequested",
    "Supported",
    "TaskCreated",
    "TaskDeleted",
    "TaskEvent",
    "TaskReopened",
    "TaskResolved",
    "TaskUpdated",
    "Unsupported",
]


@dataclass(frozen=True)
class InitiativeEvent(DomainEvent):
    """Something changed about ``initiative``; ``actor`` made the change."""

    initiative: Initiative
    actor: Actor


# ------------------------------------------------------------------ the initiative


@dataclass(frozen=True)
class InitiativeCreated(InitiativeEvent):
    """A new initiative (``actor`` is its creator)."""


@dataclass(frozen=True)
class InitiativeUpdated(InitiativeEvent):
    """Fields (or the image) of an initiative changed.

    ``previous_visibility`` is the visibility before the edit when the edit changed it,
    None otherwise.
    """

    previous_visibility: str | None = None


@dataclass(frozen=True)
class InitiativeArchived(InitiativeEvent):
    """It was archived (``archived`` true) or taken out of the archive (false)."""

    archived: bool = True


@dataclass(frozen=True)
class InitiativeDeleted(InitiativeEvent):
    """It was deleted (``deleted_at`` is set; the row stays as a tombstone)."""


# ------------------------------------------------------------------ tasks


@dataclass(frozen=True)
class TaskEvent(InitiativeEvent):
    """Something changed about ``task`` on the initiative's board."""

    task: Task


@dataclass(frozen=True)
class TaskCreated(TaskEvent):
    """A task was added."""


@dataclass(frozen=True)
class TaskUpdated(TaskEvent):
    """A task was edited or moved."""


@dataclass(frozen=True)
class TaskResolved(TaskEvent):
    """A task was completed."""


@dataclass(frozen=True)
class TaskReopened(TaskEvent):
    """A completed task was reopened."""


@dataclass(frozen=True)
class TaskDeleted(TaskEvent):
    """A task was deleted (the row is gone from the session)."""


# ------------------------------------------------------------------ contributions


@dataclass(frozen=True)
class ContributionEvent(InitiativeEvent):
    """Something changed about ``contribution`` (an offer for a task)."""

    contribution: Contribution


@dataclass(frozen=True)
class ContributionOffered(ContributionEvent):
    """Someone (``actor``) offered a contribution."""


@dataclass(frozen=True)
class ContributionDecided(ContributionEvent):
    """A partner (``actor``) accepted or rejected an offer (see ``contribution.state``)."""


@dataclass(frozen=True)
class ContributionWithdrawn(ContributionEvent):
    """The offerer withdrew their offer."""


@dataclass(frozen=True)
class ContributionRated(InitiativeEvent):
    """A partner (``actor``) rated an accepted contribution."""

    rating: Rating


# ------------------------------------------------------------------ people


@dataclass(frozen=True)
class Supported(InitiativeEvent):
    """``actor`` became a supporter."""


@dataclass(frozen=True)
class Unsupported(InitiativeEvent):
    """``actor`` stopped supporting."""


@dataclass(frozen=True)
class PartnerEvent(InitiativeEvent):
    """Something changed about a partnership (``partner`` is the row, maybe deleted)."""

    partner: InitiativePartner


@dataclass(frozen=True)
class PartnershipRequested(PartnerEvent):
    """``actor`` asked to become a partner."""


@dataclass(frozen=True)
class PartnerAdded(PartnerEvent):
    """Someone became an active partner: a request accepted by ``actor``, or an accepted
    contribution (``partner.role`` contributor). Not emitted for the creator."""


@dataclass(frozen=True)
class PartnershipDeclined(PartnerEvent):
    """A partner (``actor``) declined a partnership request (the row is deleted)."""


@dataclass(frozen=True)
class PartnerLeft(PartnerEvent):
    """A partner stepped back or withdrew their request (the row is deleted)."""


# ------------------------------------------------------------------ conversation


@dataclass(frozen=True)
class MessagePosted(InitiativeEvent):
    """A free message (an ``InitiativeUpdate`` of kind message) was posted."""

    update: InitiativeUpdate


@dataclass(frozen=True)
class CommentEvent(InitiativeEvent):
    """Something changed about ``comment``."""

    comment: Comment


@dataclass(frozen=True)
class CommentCreated(CommentEvent):
    """A comment was posted."""


@dataclass(frozen=True)
class CommentUpdated(CommentEvent):
    """A comment was edited."""


@dataclass(frozen=True)
class CommentDeleted(CommentEvent):
    """A comment was deleted (it stays as "deleted")."""
