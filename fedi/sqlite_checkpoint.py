"""WAL checkpoints on a background thread, so no commit on the event loop copies pages.

By default SQLite checkpoints inside the commit that pushes the write-ahead log past 1,000
pages: that commit copies the logged pages into the database file and syncs it, 10-50 ms on
the benchmark machine. Our SQLite connections run inline on the event loop
(``fedi/sqlite_driver.py``), so every request in flight waited for that copy: it was one of
the two causes of the slow accepts while a remote server stalls (BENCHMARKS.md, finding 14).

So inline connections turn automatic checkpoints off (``PRAGMA wal_autocheckpoint=0``) and
register their file here. One daemon thread per process runs a *passive* checkpoint of each
registered file on its own connection every ``INTERVAL`` seconds:

- Python's ``sqlite3`` releases the GIL while SQLite works, so the loop serves meanwhile;
- a passive checkpoint never waits for readers or writers: it copies what no reader still
  needs and leaves the rest for the next round, and when another process (the worker child,
  ``fedi worker``) checkpoints the same file at that moment, this round is simply skipped;
- with nothing new in the log it only reads the log's header, so an idle instance costs
  nothing.

When the last connection of a file closes, the thread's own one is closed with it, at once;
SQLite then checkpoints the whole log and removes it, as it did before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from urllib.request import pathname2url

__all__ = ["INTERVAL", "Checkpointer"]

log = logging.getLogger(__name__)

# Seconds between rounds. At the inbox's peak (~500 commits/s of a few pages each) a round
# copies a few hundred pages: about what SQLite's own threshold of 1,000 pages would.
INTERVAL = 0.25


class Checkpointer:
    """The checkpoint thread of this process, and the files it looks after."""

    # Guards ``_users`` and ``_thread``.
    _lock = threading.Lock()
    # Held while one of the thread's connections is used or closed: the last connection of
    # a file closes the thread's one at once, before the file may be replaced or removed.
    _io = threading.Lock()
    # Open inline connections per database file; the thread runs while any file has one.
    _users: dict[str, int] = {}  # noqa: RUF012 (shared by design, guarded by _lock)
    _connections: dict[str, sqlite3.Connection] = {}  # noqa: RUF012 (guarded by _io)
    _thread: threading.Thread | None = None

    @classmethod
    def register(cls, path: str) -> None:
        """Count one more open connection to ``path`` (starting the thread if it sleeps)."""
        with cls._lock:
            cls._users[path] = cls._users.get(path, 0) + 1
            if cls._thread is None or not cls._thread.is_alive():
                cls._thread = threading.Thread(
                    target=cls._run, name="sqlite-checkpoint", daemon=True
                )
                cls._thread.start()

    @classmethod
    def unregister(cls, path: str) -> None:
        """Count one connection to ``path`` fewer; at zero the thread's own one is closed
        too (waiting for a checkpoint under way), and SQLite removes the log as before."""
        with cls._lock:
            left = cls._users.get(path, 0) - 1
            if left > 0:
                cls._users[path] = left
                return
            cls._users.pop(path, None)
        with cls._io:
            conn = cls._connections.pop(path, None)
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()

    @classmethod
    def files(cls) -> list[str]:
        """The files looked after now (for tests and diagnostics)."""
        with cls._lock:
            return list(cls._users)

    @classmethod
    def _forget(cls) -> None:
        # A forked child has neither the thread nor the parent's connections (SQLite forbids
        # using them across fork), and a lock may have been held at that moment.
        cls._lock = threading.Lock()
        cls._io = threading.Lock()
        cls._users = {}
        cls._connections = {}
        cls._thread = None

    @classmethod
    def _run(cls) -> None:
        while True:
            time.sleep(INTERVAL)
            with cls._lock:
                paths = list(cls._users)
                if not paths:
                    # Nothing to look after: end, and be started again by register.
                    cls._thread = None
                    return
            for path in paths:
                with cls._io:
                    with cls._lock:
                        if path not in cls._users:
                            continue  # let go of meanwhile (its connection is closed)
                    cls._checkpoint(path)

    @classmethod
    def _checkpoint(cls, path: str) -> None:
        """One passive checkpoint of ``path`` (the caller holds ``_io``)."""
        try:
            conn = cls._connections.get(path)
            if conn is None:
                # mode=rw: a file removed meanwhile (a test's folder) is not made again.
                conn = sqlite3.connect(
                    f"file:{pathname2url(path)}?mode=rw", uri=True, timeout=0,
                    check_same_thread=False,
                )
                cls._connections[path] = conn
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # Busy (another process checkpoints) or the file went away: try next round.
            log.debug("checkpoint of %s skipped: %s", path, exc)
            stale = cls._connections.pop(path, None)
            if stale is not None:
                with contextlib.suppress(sqlite3.Error):
                    stale.close()


os.register_at_fork(after_in_child=Checkpointer._forget)
