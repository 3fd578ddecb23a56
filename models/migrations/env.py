"""Alembic environment: runs on the connection that ``fedi db upgrade`` hands in."""

from __future__ import annotations

from alembic import context

from models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    """Migrate on the connection passed through ``config.attributes``."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `fedi db upgrade`, which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
