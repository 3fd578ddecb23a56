"""Write a new Alembic revision from the difference between the models and the migrations.

The first release has shipped, so ``0001_initial`` is frozen: every schema change becomes a
new revision on top of the current head. This upgrades an empty SQLite database to head,
lets Alembic compare it with the models and writes ``NNNN_<slug>.py``. Read the result before
committing it (autogenerate misses renames and server defaults; SQLite changes run in batch
mode, see ``models/migrations/env.py``).

Run: .venv/bin/python scripts/new_migration.py "add initiative audience"
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from fedi.db import MIGRATIONS_DIR, Database, alembic_config

VERSIONS = MIGRATIONS_DIR / "versions"


def _next_rev_id() -> str:
    numbers = [int(p.name[:4]) for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


def _generate(connection: Connection, message: str, rev_id: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


async def main(message: str) -> None:
    """Autogenerate the next revision against a database at head."""
    rev_id = _next_rev_id()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'gen.sqlite3'}")
        await db.upgrade()
        async with db.engine.begin() as conn:
            await conn.run_sync(_generate, message, rev_id)
        await db.dispose()
    generated = next(VERSIONS.glob(f"{rev_id}_*.py"))
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    target = VERSIONS / f"{rev_id}_{slug}.py"
    generated.rename(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: scripts/new_migration.py "what changes"')
    asyncio.run(main(sys.argv[1]))
