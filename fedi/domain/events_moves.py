"""The domain events of account moves (FEP-7628).

``AccountMoved`` is emitted by ``fedi.domain.account_move`` when a local person moved to
another account (``actor.moved_to`` is set, flushed); ``fedi.federation.outgoing.moves``
turns it into ``Move{Person}`` to the person's followers on other servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.domain.events import DomainEvent
from models import Actor

__all__ = ["AccountMoved"]


@dataclass(frozen=True)
class AccountMoved(DomainEvent):
    """The local person ``actor`` moved to ``target`` (local or remote)."""

    actor: Actor
    target: Actor
