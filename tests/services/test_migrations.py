"""The migrations build exactly the schema the models describe, on both databases.

``0001_initial`` has shipped, so every model change needs a new revision
(``scripts/new_migration.py``); this test fails when one was forgotten.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from fedi.db import Database
from models import Base


def _not_search_index(name: str | None, _type: str, _parents: object) -> bool:
    """The full-text index of migration 0010 (an FTS5 table with its shadow tables on
    SQLite, GIN expression indexes on PostgreSQL) has no model: leave it out."""
    return not (name or "").startswith(("search_fts", "ix_search_"))


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True, "render_as_batch": connection.dialect.name == "sqlite",
            "include_name": _not_search_index,
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(db_target):
    db = Database(db_target.url, schema=db_target.schema)
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await db.dispose()
    assert differences == [], "models changed without a migration: " + repr(differences)
