"""WAL checkpoints run on the background thread, never inside a commit on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from fedi.db import Database
from fedi.sqlite_checkpoint import Checkpointer


async def _wait_for(condition, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def test_commits_leave_the_copy_to_the_checkpoint_thread(tmp_path: Path):
    """A commit writes only the log; the thread copies it into the file soon after."""
    path = tmp_path / "checkpoint.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (body BLOB)"))
            setting = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
            assert setting == 0  # SQLite's own checkpoint inside commit is off
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar()
            assert mode == "wal"
        assert str(path.resolve()) in Checkpointer.files()
        # Let the thread copy the table's creation, then take the file's size.
        assert await _wait_for(lambda: path.stat().st_size > 0)
        before = path.stat().st_size
        async with db.session() as session:
            await session.execute(text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                " INSERT INTO t SELECT randomblob(1000) FROM n"
            ))
        # Right after the commit the rows are in the log only (3 MB, under SQLite's own
        # threshold of 1,000 pages anyway); the thread moves them into the file.
        assert await _wait_for(lambda: path.stat().st_size > before + 2_000_000), (
            before, path.stat().st_size
        )
        async with db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 3000
    finally:
        await db.dispose()
    # Every connection closed: the file is let go of at once, the thread's connection with
    # it (the file may be replaced next, as a restore does), and SQLite removed the log.
    assert str(path.resolve()) not in Checkpointer.files()
    assert not await asyncio.to_thread(Path(f"{path}-wal").exists)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (3000,)
