"""The per-app state object: everything routes and workers share, created by ``create_app``.

Kept on a typed attribute of the app rather than in module globals, so two apps can run
side by side in one process (the federation tests do exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import httpx
from quart import Quart, current_app

from fedi.db import Database
from fedi.settings import Settings

if TYPE_CHECKING:
    from fedi.http.web.i18n import Translator


@dataclass
class AppState:
    """Shared, long-lived objects of one running instance."""

    settings: Settings
    db: Database
    translator: Translator
    # Injected in tests (a transport routed to other in-process apps); None: the real network.
    http_transport: httpx.AsyncBaseTransport | None = None
    http: httpx.AsyncClient | None = None
    # Filled by later subsystems (fetcher, key cache, workers); typed where they are defined.
    extras: dict[str, Any] = field(default_factory=dict)


class FediApp(Quart):
    """A Quart app that carries its ``AppState``."""

    state: AppState


def get_state(app: Quart | None = None) -> AppState:
    """The state of ``app`` or of the app handling the current request."""
    return cast(FediApp, app or current_app).state
