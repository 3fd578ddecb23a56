"""Live messages across processes on PostgreSQL: ``NOTIFY`` to send, one ``LISTEN`` to hear.

Several ``fedi serve`` processes on one PostgreSQL database each have their own live hub
(``fedi.live.hub``); a page connected to one process must still see a change another process
committed. With this bridge set on the hub, every published message becomes a
``pg_notify(channel, payload)`` and each process keeps one asyncpg connection that
``LISTEN``\\ s on the channel and hands what arrives (its own messages included) to its hub.

* The channel is named after the database schema, so instances sharing one database in
  separate schemas (the tests do this) never hear each other.
* PostgreSQL refuses payloads of 8000 bytes or more; messages carry ids and kinds only, and
  one that is still too big travels without its data (the page reloads its parts anyway).
* Sending never blocks the committing code: :meth:`PgBridge.send` queues, a task sends.
* When the connection drops, messages are delivered in this process only until it is back
  (reconnecting with a growing pause); live messages are a courtesy, pages catch up on load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

from sqlalchemy.engine import make_url

from fedi.live.hub import LiveHub, LiveMessage, hub_of
from fedi.state import AppState, FediApp

__all__ = ["MAX_PAYLOAD", "PgBridge", "asyncpg_dsn", "channel_name", "install"]

log = logging.getLogger(__name__)

# PostgreSQL's limit is "shorter than 8000 bytes" in the default configuration.
MAX_PAYLOAD = 7900
# Messages sent in one statement at most, and the statement (in the order they came).
BATCH = 100
_NOTIFY_ALL = (
    "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n"
)
_RECONNECT_MIN = 0.5
_RECONNECT_MAX = 30.0


def channel_name(schema: str | None) -> str:
    """The ``LISTEN`` channel of one instance's schema (an identifier under 63 bytes)."""
    digest = hashlib.sha256((schema or "public").encode()).hexdigest()[:20]
    return f"fedi_live_{digest}"


def asyncpg_dsn(database_url: str) -> str:
    """A plain ``postgresql://`` DSN for asyncpg from the SQLAlchemy URL of the app."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def encode(message: LiveMessage) -> str:
    """The NOTIFY payload of ``message`` (without its data when that would be too long)."""
    payload = json.dumps(
        {"t": message.topic, "k": message.kind, "d": message.data}, separators=(",", ":")
    )
    if len(payload.encode()) <= MAX_PAYLOAD:
        return payload
    return json.dumps({"t": message.topic, "k": message.kind, "d": {}}, separators=(",", ":"))


def decode(payload: str) -> LiveMessage | None:
    """The message in a NOTIFY payload, or None for anything malformed."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    topic, kind, data = raw.get("t"), raw.get("k"), raw.get("d")
    if not isinstance(topic, str) or not isinstance(kind, str) or not isinstance(data, dict):
        return None
    return LiveMessage(topic, kind, data)


class PgBridge:
    """One process's ``LISTEN`` connection and ``NOTIFY`` sender for its hub."""

    def __init__(self, hub: LiveHub, dsn: str, channel: str) -> None:
        """A bridge for ``hub`` on ``channel`` of the database at ``dsn`` (not started)."""
        self.hub = hub
        self.dsn = dsn
        self.channel = channel
        # None wakes the sender when the connection is lost.
        self._outgoing: asyncio.Queue[LiveMessage | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._conn: Any = None

    @property
    def connected(self) -> bool:
        """Whether the ``LISTEN`` connection is up."""
        return self._connected.is_set()

    def send(self, message: LiveMessage) -> None:
        """Queue ``message`` for ``NOTIFY``; without a connection, deliver it here only."""
        if not self.connected:
            self.hub.deliver_local(message)
            return
        self._outgoing.put_nowait(message)

    async def start(self, wait_seconds: float = 10.0) -> None:
        """Connect and listen (waits up to ``wait_seconds`` for the first connection; after
        that the bridge keeps trying in the background)."""
        self._task = asyncio.create_task(self._run(), name="live-pg-bridge")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait_seconds)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        message = decode(payload)
        if message is not None:
            self.hub.deliver_local(message)

    def _on_lost(self, conn: Any) -> None:
        # The server closed the connection (restart, pg_terminate_backend): from now on
        # deliver here only, and wake the sender so it reconnects. Our own closing of an
        # old connection (``_conn`` already cleared) must not wake the next one.
        if conn is not self._conn:
            return
        self._connected.clear()
        self._outgoing.put_nowait(None)

    def _drain_locally(self) -> None:
        # What could not be sent still reaches this process's pages.
        while not self._outgoing.empty():
            message = self._outgoing.get_nowait()
            if message is not None:
                self.hub.deliver_local(message)

    async def _run(self) -> None:
        import asyncpg  # only PostgreSQL instances need it

        pause = _RECONNECT_MIN
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                self._conn = conn
                await conn.add_listener(self.channel, self._on_notify)
                conn.add_termination_listener(self._on_lost)
                self._connected.set()
                pause = _RECONNECT_MIN
                while not conn.is_closed():
                    try:
                        first = await asyncio.wait_for(self._outgoing.get(), 5.0)
                    except TimeoutError:
                        continue  # look at the connection again
                    if first is None:
                        break  # the connection is gone
                    batch = [first]
                    while len(batch) < BATCH and not self._outgoing.empty():
                        extra = self._outgoing.get_nowait()
                        if extra is None:
                            break
                        batch.append(extra)
                    try:
                        # One statement, one transaction: the messages of a commit travel
                        # together and arrive together, in order. (PostgreSQL folds
                        # identical payloads of one transaction into one; they say the same.)
                        await conn.execute(
                            _NOTIFY_ALL, self.channel, [encode(m) for m in batch]
                        )
                    except Exception:
                        for message in batch:
                            self.hub.deliver_local(message)
                        raise
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live bridge: connection lost; retrying in %.1fs", pause, exc_info=True)
            finally:
                self._connected.clear()
                self._drain_locally()
                self._conn = None
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(pause)
            pause = min(_RECONNECT_MAX, pause * 2)


def install(state: AppState) -> None:
    """Start a bridge with the app when its database is PostgreSQL (nothing on SQLite)."""
    if state.db.is_sqlite:
        return
    holder: dict[str, PgBridge] = {}

    async def start(_app: FediApp) -> None:
        hub = hub_of(state)
        bridge = PgBridge(
            hub, asyncpg_dsn(state.settings.database_url), channel_name(state.db.schema)
        )
        await bridge.start()
        hub.set_bridge(bridge)
        holder["bridge"] = bridge

    async def stop(_app: FediApp) -> None:
        bridge = holder.pop("bridge", None)
        if bridge is not None:
            hub_of(state).set_bridge(None)
            await bridge.stop()

    state.startup_hooks.append(start)
    state.shutdown_hooks.append(stop)
