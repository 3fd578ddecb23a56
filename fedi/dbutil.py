"""Dialect-aware SQL helpers the federation code shares (insert-or-ignore, row locking)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignore(db: AsyncSession, model: type[Any], conflict: list[str] | None) -> Insert:
    """An ``INSERT ... ON CONFLICT (conflict) DO NOTHING`` for the session's database.

    Used where a duplicate is a normal event (a redelivered activity, two processes creating
    the instance actor at once) so no exception, rollback or extra SELECT is needed.
    ``conflict=None`` ignores a conflict on any unique constraint.
    """
    if is_postgres(db):
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=conflict)
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=conflict)


def is_postgres(db: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL (else SQLite)."""
    bind = db.get_bind()
    return bind.dialect.name == "postgresql"
