"""Several processes starting at once upgrade the schema one at a time.

systemd starts `fedi serve` and `fedi worker` together on a fresh install (and after an
upgrade that brings migrations); compose starts every `web` container at once. Each process
upgrades the schema when it starts. Before the upgrade took a lock, all but one of them
failed creating tables that another had just made ("table actors already exists") and
restarted.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text

from fedi.db import Database
from tests.conftest import DbTarget

UPGRADE = """
import asyncio, sys
from fedi.db import Database

async def main() -> None:
    database = Database(sys.argv[1], schema=sys.argv[2] or None)
    try:
        await database.upgrade()
    finally:
        await database.dispose()

asyncio.run(main())
"""
PROCESSES = 4


async def test_processes_upgrading_at_once_all_succeed(db_target: DbTarget) -> None:
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", UPGRADE, db_target.url, db_target.schema or "",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    finished = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in started)), 120)
    failures = [err.decode()[-2000:] for p, (_out, err) in zip(started, finished, strict=True)
                if p.returncode != 0]
    assert failures == []
    database = Database(db_target.url, schema=db_target.schema)
    try:
        async with database.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert len(versions) == 1
        await database.upgrade()  # and a later start finds nothing to do
    finally:
        await database.dispose()
