"""The domain events of people's profiles.

``ProfileUpdated`` is emitted by the profile services after a local person's name, bio,
talents, links or avatar changed (flushed, same transaction);
``fedi.federation.outgoing.people`` turns it into ``Update{Person}``, so other servers show
the new profile and match the new talents at once instead of after their next refetch.

``AccountDeleted`` is emitted by ``fedi.domain.account_deletion`` BEFORE the person's follows
and memberships are removed (same transaction), so its subscriber can still read who knew
the person and address ``Delete{Person}`` to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import Actor

__all__ = ["AccountDeleted", "ProfileUpdated"]


@dataclass(frozen=True)
class ProfileUpdated(DomainEvent):
    """The local person ``actor`` changed their profile."""

    actor: Actor


@dataclass(frozen=True)
class AccountDeleted(DomainEvent):
    """The local person ``actor`` is being deleted (follows and memberships still present)."""

    actor: Actor
