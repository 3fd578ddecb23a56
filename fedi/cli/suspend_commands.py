"""``fedi user suspend`` and ``fedi user unsuspend``: the admin pages' suspension, by command.

The same service as the buttons under ``/admin/users`` (``fedi.domain.account_suspension``):
the account cannot log in, its pages answer 410, and other servers hear ``Update{Person}``
once the worker (inside ``fedi serve`` or ``fedi worker``) delivers it. Recorded in the audit
log without a person, like every command-line action.
"""

from __future__ import annotations

import click

from fedi.cli.common import CliError, run_with_db
from fedi.cli.user_commands import user_group
from fedi.db import Database
from fedi.domain.account_suspension import suspend_account, unsuspend_account
from fedi.domain.errors import ServiceError
from fedi.settings import Settings


def _run(name: str, suspend: bool, reason: str = "") -> None:
    async def work(settings: Settings, db: Database) -> None:
        try:
            async with db.session() as session:
                if suspend:
                    await suspend_account(session, settings, name, acting=None, reason=reason)
                else:
                    await unsuspend_account(session, settings, name, acting=None)
        except ServiceError as exc:
            raise CliError(str(exc)) from exc

    run_with_db(work)


@user_group.command("suspend", help="Suspend an account (reversible; other servers are told).")
@click.argument("name")
@click.option("--reason", default="", help="Why (kept in the audit log).")
def suspend(name: str, reason: str) -> None:
    """Suspend ``name``."""
    _run(name, True, reason)
    click.echo(f"suspended {name}")


@user_group.command("unsuspend", help="Lift the suspension of an account.")
@click.argument("name")
def unsuspend(name: str) -> None:
    """Lift the suspension of ``name``."""
    _run(name, False)
    click.echo(f"lifted the suspension of {name}")
