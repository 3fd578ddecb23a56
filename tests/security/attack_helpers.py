"""Helpers for the attack suite: one instance with a local person and a hostile remote server.

Import as ``from attack_helpers import ...`` (pytest puts tests/security on sys.path). The
federation test helpers (the routing transport, fake remote servers, ``drain``; importable
by name, see ``tests/conftest.py``) are reused rather than copied; they are re-exported
here.

The property-based tests (hypothesis) run synchronously and drive the instance on an event
loop of their own (:class:`LoopWorld`), because hypothesis calls a test once per example and
cannot await; the other tests use :func:`world` inside pytest-asyncio's loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fakes import FakeActor
from harness import drain, make_app
from routing import RoutingTransport
from social_helpers import token_for
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from tribe_fed_helpers import AP_HEADERS, AS, PUBLIC, RecordingServer, deliver, remote
from tribe_helpers import make_person, make_tribe

from activitypub.urlpolicy import UrlPolicy
from fedi.federation.outgoing_http import URL_POLICY
from fedi.state import FediApp
from models import Actor, ApObject, Delivery, InboxItem, OutboxActivity

__all__ = [
    "AP_HEADERS",
    "AS",
    "PUBLIC",
    "ErrorLog",
    "FakeActor",
    "LoopWorld",
    "RecordingServer",
    "World",
    "counts",
    "deliver",
    "drain",
    "item_by_id",
    "make_person",
    "post_inbox",
    "post_outbox",
    "remote",
    "world",
]

T = TypeVar("T")
BASE = "http://localhost:8001"
ALICE = f"{BASE}/users/alice"
REMOTE_HOST = "localhost:9001"


class Offline(httpx.AsyncBaseTransport):
    """Every host not routed to a test app is down: hostile ids never reach the network."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Fail like a refused connection."""
        raise httpx.ConnectError("offline in the attack suite", request=request)


@dataclass
class World:
    """One instance (alice, her open tribe plein, a C2S token) and fiona on a fake server."""

    app: FediApp
    router: RoutingTransport
    server: RecordingServer
    fiona: FakeActor
    token: str

    def note(self, text: str = "hello", **extra: Any) -> dict[str, Any]:
        """A public Note by fiona with a fresh id, addressed to alice too."""
        doc: dict[str, Any] = {
            "id": self.server.url(f"/notes/{uuid.uuid4()}"),
            "type": "Note",
            "attributedTo": self.fiona.id,
            "content": f"<p>{text}</p>",
            "to": [PUBLIC],
            "cc": [ALICE],
        }
        doc.update(extra)
        return doc


@asynccontextmanager
async def world(
    tmp_path: Path, *, policy: UrlPolicy | None = None, **changes: Any
) -> AsyncIterator[World]:
    """The :class:`World`, on SQLite unless ``changes`` name another database.

    ``policy`` replaces the outgoing URL policy the settings would make.
    """
    router = RoutingTransport(fallback=Offline())
    app = await make_app(tmp_path, 8001, router, **changes)
    if policy is not None:
        app.state.put(URL_POLICY, policy)
    async with app.test_app():
        server, fiona = remote(router, REMOTE_HOST, "fiona")
        await make_person(app, "alice")
        await make_tribe(app, "plein", "alice")
        token = await token_for(app, "alice")
        yield World(app, router, server, fiona, token)
    await router.close()


# The same server and variable as tests/conftest.py's database fixtures (which cannot be
# imported by name here: every test folder's conftest module is called ``conftest``).
PG_URL = os.environ.get("FEDI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _postgres_or_skip() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return
    except OSError:
        reason = "PostgreSQL is not running on 127.0.0.1:5432"
        if os.environ.get("FEDI_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"required service missing: {reason}", pytrace=False)
        pytest.skip(reason)


async def _drop_schema(schema: str) -> None:
    engine = create_async_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


class LoopWorld:
    """A :class:`World` living on its own event loop, for synchronous hypothesis tests.

    ``engine`` "postgresql" puts it in a fresh schema of the test server (dropped on close).
    """

    def __init__(self, tmp_path: Path, engine: str = "sqlite") -> None:
        """Start the world under ``tmp_path`` on ``engine``."""
        self.loop = asyncio.new_event_loop()
        self.schema: str | None = None
        changes: dict[str, Any] = {}
        if engine == "postgresql":
            _postgres_or_skip()
            self.schema = "t_" + secrets.token_hex(6)
            changes = {"database_url": PG_URL, "database_schema": self.schema}
        self._context: AbstractAsyncContextManager[World] = world(tmp_path, **changes)
        self.world: World = self.run(self._context.__aenter__())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to its end on the world's loop."""
        return self.loop.run_until_complete(work)

    def close(self) -> None:
        """Stop the app and close the loop."""
        try:
            self.run(self._context.__aexit__(None, None, None))
            if self.schema is not None:
                self.run(_drop_schema(self.schema))
        finally:
            self.loop.close()

    def __enter__(self) -> LoopWorld:
        """The world itself; :meth:`close` runs on leaving the ``with`` block."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the world (see :meth:`close`)."""
        self.close()


async def post_inbox(
    w: World, body: bytes, path: str = "/users/alice/inbox", signer: FakeActor | None = None
) -> int:
    """POST raw ``body`` to ``path``, signed by ``signer`` (fiona); return the status."""
    actor = signer or w.fiona
    headers = actor.signed_post(f"{w.app.state.settings.base_url}{path}", body)
    response = await w.app.test_client().post(path, data=body, headers=headers)
    return response.status_code


async def post_outbox(w: World, body: bytes, username: str = "alice") -> tuple[int, Any]:
    """POST raw ``body`` to ``username``'s C2S outbox with alice's token: (status, JSON)."""
    response = await w.app.test_client().post(
        f"/users/{username}/outbox",
        data=body,
        headers={
            "Content-Type": "application/activity+json",
            "Authorization": f"Bearer {w.token}",
        },
    )
    payload = await response.get_json() if response.status_code != 204 else None
    return response.status_code, payload


async def item_by_id(w: World, ap_id: Any) -> InboxItem | None:
    """The stored inbox item with ``ap_id``, if any."""
    if not isinstance(ap_id, str) or "\x00" in ap_id:
        return None  # never stored (PostgreSQL cannot even compare it)
    async with w.app.state.db.session() as db:
        return await db.scalar(select(InboxItem).where(InboxItem.ap_id == ap_id))


async def counts(w: World) -> dict[str, int]:
    """How many rows the tables a request could half-write hold."""
    out: dict[str, int] = {}
    async with w.app.state.db.session() as db:
        for name, model in (
            ("inbox_items", InboxItem), ("outbox", OutboxActivity), ("objects", ApObject),
            ("deliveries", Delivery),
        ):
            out[name] = int(await db.scalar(select(func.count()).select_from(model)) or 0)
        # alice's own activities, apart from those her tribe sends about her posts.
        out["alice_outbox"] = int(await db.scalar(
            select(func.count(OutboxActivity.id))
            .join(Actor, Actor.id == OutboxActivity.actor_id)
            .where(Actor.ap_id == ALICE)
        ) or 0)
    return out


class ErrorLog(logging.Handler):
    """Collects log records that carry a traceback or are errors (a crash we did not expect).

    Used as a context manager around the requests and worker runs of a test.
    """

    def __init__(self) -> None:
        """Create an empty collector."""
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record`` when it has a traceback or is an error."""
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def tracebacks(self) -> list[str]:
        """One line per collected record: logger, message."""
        return [f"{r.name}: {r.getMessage()}" for r in self.records]
