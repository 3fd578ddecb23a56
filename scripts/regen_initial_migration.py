"""Regenerate the initial migration from the models (only until the first release ships).

Run: .venv/bin/python scripts/regen_initial_migration.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from fedi.db import MIGRATIONS_DIR, Database, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def _generate(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")


async def main() -> None:
    """Autogenerate 0001 against an empty SQLite database."""
    INITIAL.unlink(missing_ok=True)
    for stale in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
        stale.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'gen.sqlite3'}")
        async with db.engine.begin() as conn:
            await conn.run_sync(_generate)
        await db.dispose()
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    asyncio.run(main())
