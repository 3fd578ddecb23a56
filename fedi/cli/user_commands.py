"""``fedi user``, ``fedi invite`` and ``fedi registration``: accounts from the shell.

These call the same account services as the web pages, so every rule (valid names,
strong passwords, the last admin) holds here too.
"""

from __future__ import annotations

import sys

import click

from fedi.cli.common import CliError, cli, echo_table, run_with_db
from fedi.db import Database
from fedi.domain import accounts
from fedi.domain.errors import ServiceError
from fedi.settings import REGISTRATION_MODES, Settings


def _fail(exc: ServiceError) -> CliError:
    return CliError(str(exc))


@cli.group("user", help="Create and manage local accounts.")
def user_group() -> None:
    """The ``user`` command group."""


def _read_password(password: str | None, password_stdin: bool) -> str:
    if password_stdin:
        if password:
            raise CliError("use either --password or --password-stdin, not both")
        return sys.stdin.readline().rstrip("\r\n")
    if password is None:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return password


@user_group.command("create", help="Create an account (ready to use, no approval needed).")
@click.argument("name")
@click.option("--email", required=True, help="The e-mail address of the account.")
@click.option("--password", default=None, help="The password (asked for when left out).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--admin", "is_admin", is_flag=True, help="Make the account an admin.")
@click.option("--display-name", default="", help="The name shown on the profile.")
def create(
    name: str, email: str, password: str | None, password_stdin: bool, is_admin: bool,
    display_name: str,
) -> None:
    """Create a local account."""
    secret = _read_password(password, password_stdin)

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                user = await accounts.create_user(
                    session, settings, username=name, email=email, password=secret,
                    is_admin=is_admin, display_name=display_name,
                )
                return user.actor.ap_id
        except ServiceError as exc:
            raise _fail(exc) from exc

    actor_id = run_with_db(work)
    role = "admin" if is_admin else "account"
    click.echo(f"created {role} {name.strip().lstrip('@').lower()} ({actor_id})")


@user_group.command("list", help="List the local accounts.")
@click.option("--pending", is_flag=True, help="Only registrations waiting for approval.")
def list_users(pending: bool) -> None:
    """Print a table of accounts."""

    async def work(settings: Settings, db: Database) -> list[tuple[str, ...]]:
        async with db.session() as session:
            users = await accounts.list_users(
                session, pending=True if pending else None, limit=100_000
            )
            return [
                (
                    u.actor.username, u.email, "yes" if u.is_admin else "no",
                    "yes" if u.approved else "no", "yes" if u.disabled else "no",
                    u.created_at.strftime("%Y-%m-%d %H:%M"),
                )
                for u in users
            ]

    rows = run_with_db(work)
    echo_table(rows, ("name", "email", "admin", "approved", "disabled", "created"))


@user_group.command("reset-link", help="Print a one-time password reset link (valid 24 hours).")
@click.argument("name")
def reset_link(name: str) -> None:
    """Create a reset link."""

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                return await accounts.create_reset_link(session, settings, name)
        except ServiceError as exc:
            raise _fail(exc) from exc

    click.echo(run_with_db(work))


def _simple(name: str, action: str) -> None:
    async def work(settings: Settings, db: Database) -> None:
        try:
            async with db.session() as session:
                if action == "approve":
                    await accounts.approve_user(session, name)
                elif action == "reject":
                    await accounts.reject_user(session, name)
                elif action in ("disable", "enable"):
                    await accounts.set_disabled(session, name, action == "disable")
                elif action in ("make-admin", "remove-admin"):
                    await accounts.set_admin(session, name, action == "make-admin")
        except ServiceError as exc:
            raise _fail(exc) from exc

    run_with_db(work)


@user_group.command("approve", help="Approve a registration that waits for approval.")
@click.argument("name")
def approve(name: str) -> None:
    """Approve a pending account."""
    _simple(name, "approve")
    click.echo(f"approved {name}")


@user_group.command("reject", help="Reject (delete) a registration that waits for approval.")
@click.argument("name")
def reject(name: str) -> None:
    """Reject a pending account."""
    _simple(name, "reject")
    click.echo(f"rejected {name}")


@user_group.command("disable", help="Disable an account: no logins, sessions end, tokens stop.")
@click.argument("name")
def disable(name: str) -> None:
    """Disable an account."""
    _simple(name, "disable")
    click.echo(f"disabled {name}")


@user_group.command("enable", help="Enable a disabled account again.")
@click.argument("name")
def enable(name: str) -> None:
    """Enable an account."""
    _simple(name, "enable")
    click.echo(f"enabled {name}")


@user_group.command("make-admin", help="Give an account the admin role.")
@click.argument("name")
def make_admin(name: str) -> None:
    """Make an account admin."""
    _simple(name, "make-admin")
    click.echo(f"{name} is now an admin")


@user_group.command("remove-admin", help="Take the admin role away (never from the last admin).")
@click.argument("name")
def remove_admin(name: str) -> None:
    """Remove the admin role."""
    _simple(name, "remove-admin")
    click.echo(f"{name} is no longer an admin")


@cli.group("invite", help="Invitation links for invite-only registration.")
def invite_group() -> None:
    """The ``invite`` command group."""


@invite_group.command("create", help="Print a new invitation link.")
@click.option("--uses", default=1, show_default=True, help="How many people may use it.")
@click.option("--days", default=7, show_default=True, help="How many days it stays valid.")
@click.option("--note", default="", help="A note for the admins.")
def invite_create(uses: int, days: int, note: str) -> None:
    """Create an invitation link."""

    async def work(settings: Settings, db: Database) -> str:
        try:
            async with db.session() as session:
                return await accounts.create_invite(
                    session, settings, None, max_uses=uses, expires_in_days=days, note=note
                )
        except ServiceError as exc:
            raise _fail(exc) from exc

    click.echo(run_with_db(work))


@cli.group("registration", help="How people can join this instance.")
def registration_group() -> None:
    """The ``registration`` command group."""


@registration_group.command("mode", help="Show or set the registration mode.")
@click.argument("mode", required=False, type=click.Choice(REGISTRATION_MODES))
def registration_mode(mode: str | None) -> None:
    """Show the mode, or change it."""

    async def work(settings: Settings, db: Database) -> str:
        async with db.session() as session:
            if mode is None:
                return await accounts.get_registration_mode(session, settings)
            return await accounts.set_registration_mode(session, mode)

    current = run_with_db(work)
    click.echo(f"registration mode: {current}")
