"""The per-app state object: everything routes and workers share, created by ``create_app``.

Kept on a typed attribute of the app rather than in module globals, so two apps can run
side by side in one process (the federation tests do exactly that).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx
from quart import Quart, current_app

from fedi.db import Database
from fedi.settings import Settings

if TYPE_CHECKING:
    from fedi.i18n import Translator

T = TypeVar("T")

# A start-up or shut-down step of the app (it receives the ``FediApp``).
Hook = Callable[["FediApp"], Awaitable[None]]


class Slot(Generic[T]):
    """A typed place on :class:`AppState` for an object a higher layer owns.

    The federation runtime, the inbox writer, the caches and the worker loops live above
    this module, which may not name their types; each declares its slot next to its class
    (``FEDERATION: Slot[Federation] = Slot("federation")``) and reads it back typed with
    ``state.get(FEDERATION)``.
    """

    def __init__(self, name: str) -> None:
        """Name the slot (for ``repr`` only: slots are told apart by identity)."""
        self.name = name

    def __repr__(self) -> str:
        """``Slot('federation')``."""
        return f"Slot({self.name!r})"


@dataclass
class AppState:
    """Shared, long-lived objects of one running instance."""

    settings: Settings
    db: Database
    translator: Translator
    # Injected in tests (a transport routed to other in-process apps); None: the real network.
    http_transport: httpx.AsyncBaseTransport | None = None
    http: httpx.AsyncClient | None = None
    # Member ids of remote tribes by group id, with the monotonic time they were fetched.
    remote_members: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    startup_hooks: list[Hook] = field(default_factory=list)
    shutdown_hooks: list[Hook] = field(default_factory=list)
    # Objects of the layers above (see Slot), filled on start-up or on first use.
    _slots: dict[Slot[Any], Any] = field(default_factory=dict, repr=False)

    def get(self, slot: Slot[T]) -> T | None:
        """The object in ``slot``, or None when it has not been set."""
        value: T | None = self._slots.get(slot)
        return value

    def put(self, slot: Slot[T], value: T | None) -> None:
        """Set (or, with None, clear) ``slot``."""
        if value is None:
            self._slots.pop(slot, None)
        else:
            self._slots[slot] = value


class FediApp(Quart):
    """A Quart app that carries its ``AppState``."""

    state: AppState


def get_state(app: Quart | None = None) -> AppState:
    """The state of ``app`` or of the app handling the current request."""
    return cast(FediApp, app or current_app).state
