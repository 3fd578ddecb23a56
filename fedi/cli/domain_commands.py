"""``fedi domain block|unblock|list``: instance-wide blocks of remote servers."""

from __future__ import annotations

import click

from fedi.cli.common import CliError, cli, echo_table, run_with_db
from fedi.db import Database
from fedi.domain import domain_blocks
from fedi.domain.errors import ServiceError
from fedi.settings import Settings


@cli.group("domain", help="Block or unblock remote servers for the whole instance.")
def domain_group() -> None:
    """The ``domain`` command group."""


@domain_group.command("block", help="Refuse a server: no activities in, no deliveries out.")
@click.argument("domain")
@click.option("--reason", default="", help="Why (only admins see it).")
def block(domain: str, reason: str) -> None:
    """Block DOMAIN (its subdomains and every port included)."""

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                made = await domain_blocks.block_domain(session, settings, domain, reason=reason)
                return made.domain
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    click.echo(f"blocked {run_with_db(work)}")


@domain_group.command("unblock", help="Lift a block.")
@click.argument("domain")
def unblock(domain: str) -> None:
    """Unblock DOMAIN."""

    async def work(settings: Settings, db: Database) -> None:
        try:
            async with db.session() as session:
                await domain_blocks.unblock_domain(session, domain)
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    run_with_db(work)
    click.echo(f"unblocked {domain_blocks.normalise_domain(domain)}")


@domain_group.command("list", help="Show blocked servers.")
def list_blocks() -> None:
    """List every blocked domain with its reason."""

    async def work(settings: Settings, db: Database) -> list[tuple[str, str, str]]:
        async with db.session() as session:
            return [
                (b.domain, b.created_at.strftime("%Y-%m-%d"), b.reason or "-")
                for b in await domain_blocks.list_blocks(session)
            ]

    rows = run_with_db(work)
    if not rows:
        click.echo("no blocked domains")
        return
    echo_table(rows, ("domain", "since", "reason"))
