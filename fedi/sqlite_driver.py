"""SQLite for the async engine without a thread hop per call, with one writer at a time.

SQLAlchemy's ``aiosqlite`` dialect runs every DBAPI call (open a cursor, execute, fetch,
close, commit) on a helper thread and waits for the answer through the event loop. On this
machine that hand-off costs far more than the query: about eight hops per statement, which
capped the inbox worker near 130 items/s and made a ``SELECT 1`` page cost 3 ms (see
BENCHMARKS.md). SQLite answers our queries in microseconds from its page cache, so this module
gives the ``aiosqlite`` dialect a connection object that runs them inline on the event loop
instead (``create_async_engine(..., async_creator=...)``).

Running inline is only safe if a statement never waits for SQLite's busy handler, which would
freeze the event loop. In WAL mode readers never wait; writers must take turns. So writers
queue *before* their transaction starts, without blocking the loop:

- inside one process, on an ``asyncio.Lock`` shared by every connection to the same file;
- across processes (``fedi serve`` beside ``fedi worker`` or the CLI), on an ``flock`` of a
  lock file next to the database, waited for in a thread only when another process holds it.

A connection takes the turn at its first writing statement (Python's ``sqlite3`` opens the
transaction right there) and gives it back when the transaction ends. A writer that waits
longer than ``timeout`` gets the same ``database is locked`` error SQLite would have raised.

Nor may a commit copy the write-ahead log into the database file, which SQLite does inside
the commit that crosses its checkpoint threshold: these connections leave checkpoints to a
background thread (``fedi/sqlite_checkpoint.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from fedi.sqlite_checkpoint import Checkpointer

__all__ = ["InlineConnection", "WriterTurn", "connect_inline", "is_write_statement"]

_READ_PREFIXES = ("SELECT", "PRAGMA", "EXPLAIN")


def is_write_statement(sql: str) -> bool:
    """Whether ``sql`` may write (anything but a plain read), judged by its first keyword.

    Conservative on purpose: ``WITH`` (which can prefix an ``INSERT``), ``SAVEPOINT`` (which
    opens a transaction in ``sqlite3``) and DDL all count as writes. ``PRAGMA`` does not:
    the ones we run set options of the connection itself (each new pooled connection runs
    them, and must not wait behind a writer for that).
    """
    head = sql.lstrip()[:16].upper()
    return not head.startswith(_READ_PREFIXES)


class WriterTurn:
    """The single-writer turn for one database file, shared by the connections of a process."""

    _registry: ClassVar[dict[str, WriterTurn]] = {}
    _registry_lock = threading.Lock()

    def __init__(self, lock_path: str) -> None:
        """Create the turn for the lock file ``lock_path`` (opened lazily)."""
        self.lock_path = lock_path
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int | None = None
        self._owner: asyncio.Task[Any] | None = None

    @classmethod
    def for_database(cls, db_path: str) -> WriterTurn:
        """The turn of ``db_path`` (one per file per process)."""
        key = str(Path(db_path).resolve())
        with cls._registry_lock:
            turn = cls._registry.get(key)
            if turn is None:
                turn = cls(key + "-writer.lock")
                cls._registry[key] = turn
            return turn

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            # A new event loop (tests, CLI commands run one loop each): the old lock is dead.
            self._lock = asyncio.Lock()
            self._loop = loop
        return self._lock

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    async def acquire(self, timeout: float) -> None:  # noqa: ASYNC109 (a wait per step)
        """Wait (without blocking the loop) until this connection may write."""
        lock = self._async_lock()
        me = asyncio.current_task()
        if lock.locked() and me is not None and self._owner is me:
            # A second session of the same task would wait for the first one forever.
            raise sqlite3.OperationalError(
                "database is locked: this task already writes on another connection"
            )
        try:
            await asyncio.wait_for(lock.acquire(), timeout)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked (writer queue)") from None
        try:
            fd = self._file()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Another process writes: wait for it in a thread so the loop keeps serving.
                await asyncio.wait_for(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX), timeout)
        except TimeoutError:
            lock.release()
            raise sqlite3.OperationalError("database is locked (other process)") from None
        except BaseException:
            lock.release()
            raise
        self._owner = me

    def release(self) -> None:
        """Give the turn back (after commit, rollback or an autocommitted statement)."""
        self._owner = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if self._lock is not None and self._lock.locked():
            self._lock.release()


class _Queue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set isolation levels."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineCursor:
    """The async cursor API SQLAlchemy's adapter expects, running each call at once."""

    def __init__(self, owner: InlineConnection) -> None:
        """A cursor on ``owner``'s connection."""
        self._owner = owner
        self._cursor = owner._live().cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        """The DBAPI description of the last result."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """The default ``fetchmany`` size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement, taking the writer turn first when it may write."""
        await self._owner._before(sql)
        try:
            self._cursor.execute(sql, parameters)
        finally:
            self._owner._after()
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        await self._owner._before(sql)
        try:
            self._cursor.executemany(sql, seq_of_parameters)
        finally:
            self._owner._after()
        return self

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to ``size`` rows."""
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        """Accepted and ignored, as by ``sqlite3``."""

    async def nextset(self) -> None:
        """SQLite has one result set per statement."""


class InlineConnection:
    """A ``sqlite3`` connection behind the async interface of an ``aiosqlite.Connection``."""

    def __init__(
        self, conn: sqlite3.Connection, turn: WriterTurn, timeout: float, path: str | None = None
    ) -> None:
        """Wrap ``conn``; writers coordinate through ``turn``.

        With ``path``, the connection leaves checkpoints of that file to the background
        thread (``fedi/sqlite_checkpoint.py``) for as long as it is open.
        """
        self._conn: sqlite3.Connection | None = conn
        self._checkpointed = path
        if path is not None:
            conn.execute("PRAGMA wal_autocheckpoint=0")
            Checkpointer.register(path)
        self._connection = conn  # SQLAlchemy checks this attribute to see the link is open
        self._tx = _Queue()
        self._turn = turn
        self._timeout = timeout
        self._holds_turn = False

    @property
    def isolation_level(self) -> str | None:
        """The ``sqlite3`` isolation level."""
        return self._live().isolation_level

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    async def _before(self, sql: str) -> None:
        conn = self._live()
        if not self._holds_turn and not conn.in_transaction and is_write_statement(sql):
            await self._turn.acquire(self._timeout)
            self._holds_turn = True

    def _after(self) -> None:
        # A statement that ran outside a transaction (DDL, or an error before BEGIN) has
        # committed already: nothing is held any more.
        if self._holds_turn and self._conn is not None and not self._conn.in_transaction:
            self._release()

    def _closed(self) -> None:
        self._conn = None
        self._release()
        if self._checkpointed is not None:
            Checkpointer.unregister(self._checkpointed)
            self._checkpointed = None

    def _release(self) -> None:
        if self._holds_turn:
            self._holds_turn = False
            self._turn.release()

    def cursor(self) -> InlineCursor:
        """A new cursor (SQLAlchemy awaits ``__aenter__`` on it)."""
        self._live()
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        """Commit and give the writer turn back."""
        try:
            self._live().commit()
        finally:
            if self._conn is not None and not self._conn.in_transaction:
                self._release()

    async def rollback(self) -> None:
        """Roll back and give the writer turn back."""
        try:
            self._live().rollback()
        finally:
            if self._conn is not None and not self._conn.in_transaction:
                self._release()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._live().create_function(*args, **kwargs)

    async def close(self) -> None:
        """Close the connection (rolling back anything open) and free the turn."""
        if self._conn is None:
            return
        try:
            self._conn.close()
        finally:
            self._closed()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced termination)."""
        with contextlib.suppress(Exception):
            if self._conn is not None:
                self._conn.close()
        self._closed()


def connect_inline(path: str, *, timeout: float = 30.0) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` that opens ``path`` inline.

    ``timeout`` bounds both the wait for the writer turn and SQLite's own busy timeout (the
    latter only matters for a writer that does not take turns, e.g. the ``sqlite3`` shell).
    """
    turn = WriterTurn.for_database(path)
    resolved = str(Path(path).resolve())

    async def create() -> InlineConnection:
        # check_same_thread is off because SQLAlchemy may close a pooled connection from the
        # garbage collector's thread; all other use is on the event loop's thread.
        conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        return InlineConnection(conn, turn, timeout, resolved)

    return create
