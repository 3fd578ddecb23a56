"""Shared pieces of the CLI: the root group, settings loading and error reporting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from fedi.db import Database
from fedi.settings import Settings, SettingsError

T = TypeVar("T")


class CliError(click.ClickException):
    """A clear error for the operator; the command exits with status 1."""


@click.group(help="Run and administer a Part-up community server on the Fediverse.")
def cli() -> None:
    """The root command group."""


def load_settings() -> Settings:
    """The settings from the environment, or a clear error."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        # One line per wrong value, all of them at once, and no traceback.
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise CliError(f"the configuration has wrong values:\n{lines}") from exc


def run_with_db(work: Callable[[Settings, Database], Awaitable[T]]) -> T:
    """Upgrade the schema, run ``work`` with the database, and close it again."""
    settings = load_settings()

    async def runner() -> T:
        db = Database(settings.database_url, schema=settings.database_schema)
        try:
            await db.upgrade()
            return await work(settings, db)
        finally:
            await db.dispose()

    return asyncio.run(runner())


def echo_table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> None:
    """Print rows as an aligned plain-text table."""
    table = [tuple(str(cell) for cell in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
