"""The ``fedi`` command: serve, database, users, tokens and (later) queues."""

from __future__ import annotations

import sys

import click

from fedi.cli.common import cli
from fedi.cli import db_commands, serve_commands  # noqa: F401  (registers commands)


def main() -> None:
    """Entry point of the ``fedi`` console script."""
    try:
        cli.main(prog_name="fedi", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


__all__ = ["cli", "main"]
