"""The database: one async engine and session factory per app, plus schema upgrades."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from fedi.sqlite_driver import connect_inline

# How long a writer waits for its turn before failing with "database is locked".
SQLITE_TIMEOUT = 30.0
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@asynccontextmanager
async def committing(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit ``session`` when the block ends without error; roll it back otherwise."""
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise


class Database:
    """Owns the engine and hands out sessions; one per app, passed in, never global."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        # Beside the SQLite file, held while migrating (none for an in-memory database).
        self._migration_lock: str | None = None
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            path = _ensure_sqlite_folder(url)
            if path:
                self._migration_lock = f"{path}.migrate-lock"
                # Inline calls and one writer at a time (see fedi/sqlite_driver.py); an
                # in-memory database has a single connection and keeps aiosqlite.
                engine_args["async_creator"] = connect_inline(path, timeout=SQLITE_TIMEOUT)
            else:
                connect_args["timeout"] = SQLITE_TIMEOUT
        else:
            if schema:
                if not _SCHEMA_NAME.match(schema):
                    raise ValueError(f"invalid schema name {schema!r}")
                connect_args["server_settings"] = {"search_path": schema}
            engine_args.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(
            url,
            connect_args=connect_args,
            # JSON columns hold every activity we store: orjson is several times faster
            # than the standard library on these documents (see BENCHMARKS.md).
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            **engine_args,
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends without error and rolls back otherwise."""
        async with self.sessions() as session, committing(session):
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (creating the PG schema first).

        Every process upgrades when it starts, and several start at once (systemd starts
        `fedi serve` and `fedi worker` together, compose starts every `web`): one at a time,
        or each would create the same tables and all but one would fail.
        """
        if self.is_sqlite:
            async with _file_lock(self._migration_lock):
                async with self.engine.begin() as conn:
                    await conn.run_sync(_run_alembic_upgrade)
            return
        async with self.engine.begin() as conn:
            # Held until this transaction ends; the next process then finds the schema current.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                               {"name": f"fedi-migrations:{self.schema or 'public'}"})
            if self.schema:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.run_sync(_run_alembic_upgrade)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


@asynccontextmanager
async def _file_lock(path: str | None) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block; none for None.

    The lock goes with the open file, so a process that dies releases it.
    """
    if path is None:
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def alembic_config() -> Config:
    """The Alembic configuration pointing at our migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _run_alembic_upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _ensure_sqlite_folder(url: str) -> str | None:
    """Create the database file's folder; return the file's path (None for in-memory)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is safe with WAL and much faster.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT * 1000)}")
    cursor.close()


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from synchronous CLI code."""
    return asyncio.run(coro)
