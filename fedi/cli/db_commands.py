"""``fedi db upgrade``: bring the database schema up to date."""

from __future__ import annotations

import click

from fedi.cli.common import cli, run_with_db
from fedi.db import Database
from fedi.settings import Settings


@cli.group("db", help="Database schema management.")
def db_group() -> None:
    """The ``db`` command group."""


@db_group.command("upgrade", help="Apply every pending migration.")
def upgrade() -> None:
    """Apply pending migrations (``run_with_db`` upgrades before the work runs)."""

    async def work(settings: Settings, db: Database) -> None:
        click.echo(f"database is up to date ({db.engine.url.render_as_string(hide_password=True)})")

    run_with_db(work)
