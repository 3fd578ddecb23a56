"""Domain events: what a service changed, announced inside the service's own transaction.

A service changes the database, flushes, and calls :func:`emit` with an event (a frozen
dataclass naming the change and the rows it concerns). Whoever cares subscribes to the event's
class with :func:`subscribes`: the federation layer turns events into activities and
``Delivery`` rows, notifications may hang off them later. Subscribers run in the emitting
session, so whatever they write commits or rolls back with the change itself; they must not
do network I/O (the transaction is open) and must not raise for an ordinary change.

The domain knows nothing of who listens: it imports no federation code. Subscribers register
when their module is imported (``fedi.federation`` imports its subscribers on import, and the
app, the workers and the CLI import ``fedi.federation``). The table is wiring of code, not
state of an instance, so two apps in one process share it safely.

Who acted is part of every event (``actor``): a change that an incoming activity applied has
a remote actor, and the federation layer never sends on behalf of someone else's server, so
nothing is echoed back to where it came from. That rule replaces per-call ``federate`` flags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from fedi.settings import Settings

__all__ = [
    "DomainEvent",
    "Subscriber",
    "emit",
    "subscribers_of",
    "subscribes",
]


@dataclass(frozen=True)
class DomainEvent:
    """Base class of every domain event; subclasses add the rows the change concerns."""


E = TypeVar("E", bound=DomainEvent)

# (session, settings, event) -> None
Subscriber = Callable[[AsyncSession, Settings, Any], Awaitable[None]]

_SUBSCRIBERS: dict[type[DomainEvent], list[Subscriber]] = {}


def subscribes(
    *event_types: type[DomainEvent],
) -> Callable[[Callable[[AsyncSession, Settings, E], Awaitable[None]]], Any]:
    """Register the decorated coroutine for the given event classes (and their subclasses).

    Registering the same function twice for a class is a no-op, so re-importing a module
    (as some tests do) never doubles a delivery.
    """

    def register(
        subscriber: Callable[[AsyncSession, Settings, E], Awaitable[None]],
    ) -> Callable[[AsyncSession, Settings, E], Awaitable[None]]:
        for event_type in event_types:
            listeners = _SUBSCRIBERS.setdefault(event_type, [])
            if subscriber not in listeners:
                listeners.append(subscriber)
        return subscriber

    return register


def subscribers_of(event: DomainEvent) -> list[Subscriber]:
    """The subscribers of ``event``'s class and its base classes, most specific first."""
    found: list[Subscriber] = []
    for cls in type(event).__mro__:
        for subscriber in _SUBSCRIBERS.get(cls, ()):
            if subscriber not in found:
                found.append(subscriber)
    return found


async def emit(db: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    """Hand ``event`` to its subscribers in the caller's transaction (call after a flush)."""
    for subscriber in subscribers_of(event):
        await subscriber(db, settings, event)
