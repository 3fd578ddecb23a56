"""``fedi token``: API tokens for the client-to-server API."""

from __future__ import annotations

import click

from fedi.cli.common import CliError, cli, echo_table, run_with_db
from fedi.db import Database
from fedi.domain import accounts
from fedi.domain.errors import ServiceError
from fedi.settings import Settings


@cli.group("token", help="API tokens (bearer tokens for the C2S outbox).")
def token_group() -> None:
    """The ``token`` command group."""


@token_group.command("create", help="Create a token; it is printed alone on the last line.")
@click.argument("name")
@click.option("--label", default="", help="A label to tell tokens apart.")
def create(name: str, label: str) -> None:
    """Create a token for an account."""

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                return await accounts.create_token(session, name, label)
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    token = run_with_db(work)
    click.echo(f"created a token for {name}; it is shown only now:", err=False)
    # Alone on the last line, so scripts can take it with `| tail -n1`.
    click.echo(token)


@token_group.command("revoke", help="Revoke a token by its first characters, or all of them.")
@click.argument("name")
@click.option("--prefix", default=None, help="The first characters of the token (fpt_...).")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of the account.")
def revoke(name: str, prefix: str | None, revoke_all: bool) -> None:
    """Revoke tokens."""
    if bool(prefix) == revoke_all:
        raise CliError("give either --prefix or --all")

    async def work(settings: Settings, db: Database) -> int:
        try:
            async with db.session() as session:
                which = "all" if revoke_all else prefix or ""
                return await accounts.revoke_token(session, name, which)
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    count = run_with_db(work)
    click.echo(f"revoked {count} token(s) of {name}")


@token_group.command("list", help="List the active tokens of an account.")
@click.argument("name")
def list_tokens(name: str) -> None:
    """Print the tokens of an account (prefixes only)."""

    async def work(settings: Settings, db: Database) -> list[tuple[str, ...]]:
        try:
            async with db.session() as session:
                user = await accounts.get_user(session, name)
                tokens = await accounts.list_tokens(session, user)
        except ServiceError as exc:
            raise CliError(str(exc)) from exc
        return [
            (
                t.prefix, t.label or "-", t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
            )
            for t in tokens
        ]

    echo_table(run_with_db(work), ("prefix", "label", "created", "last used"))
