"""The ``fedi`` command: serve, workers, database, users, tokens, tribes, domains and queues."""

from __future__ import annotations

import sys

import click

# The domain services the commands call emit events; this registers who sends them.
import fedi.federation  # noqa: F401

# Importing the command modules registers their commands on ``cli``.
from fedi.cli import (  # noqa: F401
    backup_commands,
    db_commands,
    domain_commands,
    queue_commands,
    serve_commands,
    suspend_commands,
    token_commands,
    tribe_commands,
    user_commands,
    worker_commands,
)
from fedi.cli.common import cli


def main() -> None:
    """Entry point of the ``fedi`` console script."""
    try:
        cli.main(prog_name="fedi", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


__all__ = ["cli", "main"]
