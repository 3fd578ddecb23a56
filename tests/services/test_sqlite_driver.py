"""The inline SQLite driver: writers take turns without blocking the event loop."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from fedi.db import Database
from fedi.sqlite_driver import is_write_statement


@pytest.fixture
async def database(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.sqlite3'}")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))
    yield db
    await db.dispose()


def test_statement_classification():
    assert not is_write_statement("SELECT 1")
    assert not is_write_statement("  select * from t")
    assert not is_write_statement("PRAGMA journal_mode=WAL")
    for sql in ("INSERT INTO t VALUES (1)", "UPDATE t SET n=1", "DELETE FROM t",
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "SAVEPOINT sa_1",
                "CREATE TABLE u (n INTEGER)"):
        assert is_write_statement(sql), sql


async def test_concurrent_writers_take_turns(database):
    """Two sessions writing at once: the second waits for the first's commit, no error."""
    first_holds = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with database.session() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            first_holds.set()
            await asyncio.sleep(0.2)  # holds the write turn meanwhile
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        async with database.session() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")

    await asyncio.gather(first(), second())
    assert order == ["first commits", "second wrote"]
    async with database.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2


async def test_readers_never_wait_for_a_writer(database):
    async with database.session() as writer:
        await writer.execute(text("INSERT INTO t VALUES (1)"))
        started = time.perf_counter()
        async with database.session() as reader:
            # WAL: the reader sees the last commit (nothing yet) at once.
            assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert time.perf_counter() - started < 0.5


async def test_a_second_write_session_in_the_same_task_fails_fast(database):
    async with database.session() as outer:
        await outer.execute(text("INSERT INTO t VALUES (1)"))
        started = time.perf_counter()
        with pytest.raises(Exception, match="already writes"):
            async with database.session() as inner:
                await inner.execute(text("INSERT INTO t VALUES (2)"))
        assert time.perf_counter() - started < 1


HOLD_TURN = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


async def test_another_process_holding_the_turn_does_not_block_the_loop(database, tmp_path):
    lock_file = str((tmp_path / "turns.sqlite3").resolve()) + "-writer.lock"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_TURN, lock_file, "0.6", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        started = time.perf_counter()
        async with database.session() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.perf_counter() - started
        tick_task.cancel()
        assert waited > 0.3, "the write went ahead while another process held the turn"
        assert ticks > 10, "the event loop was blocked while waiting"
    finally:
        await asyncio.wait_for(holder.wait(), 10)
