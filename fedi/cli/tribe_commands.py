"""``fedi tribe``: create tribes and look at them from the shell.

The commands call the same tribe services as the web pages, so every rule (names shared
with people, valid join modes, the owner becoming admin) holds here too. Unlike the web,
the operator may always create a tribe, whatever the "tribe_creation" setting says.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from fedi.cli.common import CliError, cli, echo_table, run_with_db
from fedi.db import Database
from fedi.domain import tribe_members, tribes
from fedi.domain.errors import ServiceError
from fedi.domain.names import normalise_name
from fedi.settings import Settings
from models import Actor


@cli.group("tribe", help="Create tribes and list them and their members.")
def tribe_group() -> None:
    """The ``tribe`` command group."""


@tribe_group.command("create", help="Create a tribe; the owner (a local person) becomes its admin.")
@click.argument("slug")
@click.option("--name", required=True, help="The name shown on the tribe's pages.")
@click.option("--owner", required=True, help="The local person who becomes the first admin.")
@click.option(
    "--join", "join_mode", type=click.Choice(list(tribes.JOIN_MODES)), default="open",
    show_default=True, help="How people join: open, approval or invite.",
)
@click.option("--theme", default="", help="The theme in one line.")
def create(slug: str, name: str, owner: str, join_mode: str, theme: str) -> None:
    """Create a tribe."""

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                person = await session.scalar(
                    select(Actor).where(
                        Actor.local.is_(True), Actor.type == "Person",
                        Actor.username == normalise_name(owner),
                    )
                )
                if person is None:
                    raise CliError(f"there is no local person called {normalise_name(owner)}")
                tribe = await tribes.create_tribe(
                    session, settings, person, slug=slug, name=name, join_mode=join_mode,
                    theme=theme,
                )
                return f"created tribe {tribe.slug} ({tribe.actor.ap_id}), admin {person.username}"
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    click.echo(run_with_db(work))


@tribe_group.command("list", help="List the tribes.")
def list_tribes() -> None:
    """Print a table of tribes."""

    async def work(settings: Settings, db: Database) -> list[tuple[str, ...]]:
        async with db.session() as session:
            rows: list[tuple[str, ...]] = []
            for tribe in await tribes.list_tribes(session, limit=100_000):
                counts = await tribes.tribe_counts(session, tribe)
                rows.append(
                    (tribe.slug, tribe.name, tribe.join_mode, str(counts.members),
                     str(counts.followers))
                )
            return rows

    rows = run_with_db(work)
    if not rows:
        click.echo("no tribes")
        return
    echo_table(rows, ("slug", "name", "join", "members", "followers"))


@tribe_group.command("members", help="List the members of a tribe, with requests and invitations.")
@click.argument("slug")
def members(slug: str) -> None:
    """Print a table of a tribe's members."""

    async def work(settings: Settings, db: Database) -> list[tuple[str, ...]]:
        try:
            async with db.session() as session:
                tribe = await tribes.get_tribe(session, slug)
                rows: list[tuple[str, ...]] = []
                for state in ("active", "pending", "invited"):
                    for member in await tribe_members.list_members(
                        session, tribe, state=state, limit=100_000
                    ):
                        rows.append((member.actor.handle, member.role, member.state))
                return rows
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    rows = run_with_db(work)
    if not rows:
        click.echo("no members")
        return
    echo_table(rows, ("handle", "role", "state"))
