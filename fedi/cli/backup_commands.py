"""``fedi backup`` and ``fedi restore``: the whole instance in one archive and back.

What the archive holds and how it stays consistent while the instance runs is described
in :mod:`fedi.cli.backup`.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from fedi.cli.backup import BackupError, default_archive_name, restore_backup, write_backup
from fedi.cli.common import CliError, cli, load_settings
from fedi.settings import Settings, SettingsError


@cli.command("backup", help="Write the database, secret key and uploads into one archive.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Archive to write (default fedi-backup-<UTC time>.tar.gz here).",
)
def backup_command(output: Path | None) -> None:
    """Back up the instance while it runs."""
    settings = load_settings()
    target = output or Path(default_archive_name())
    try:
        manifest = write_backup(settings, target)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    click.echo(
        f"wrote {target} ({manifest.database}, revision {manifest.alembic_revision or '-'})"
    )


def _restore_settings() -> Settings:
    """The settings, without creating a new secret key file in the data folder.

    Loading settings normally writes a fresh ``secret_key`` into an empty data folder; the
    restore brings the backed-up one instead.
    """
    environ = dict(os.environ)
    environ.setdefault("FEDI_SECRET_KEY", "restore-placeholder")
    try:
        return Settings.from_env(environ)
    except SettingsError as exc:
        raise CliError(str(exc)) from exc


@cli.command("restore", help="Bring a backup back into an empty data folder and database.")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database and uploads already there.")
def restore_command(archive: Path, force: bool) -> None:
    """Restore ARCHIVE (made by ``fedi backup``); ``fedi serve`` then upgrades it if needed."""
    settings = _restore_settings()
    try:
        manifest = restore_backup(settings, archive, force=force)
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"restored the backup of {manifest.base_url} made {manifest.created_at}")
    if manifest.base_url != settings.base_url:
        click.echo(
            f"warning: the backup was made at {manifest.base_url} but FEDI_BASE_URL is "
            f"{settings.base_url}; other servers know this instance's people by the old "
            "address", err=True,
        )
    if os.environ.get("FEDI_SECRET_KEY"):
        click.echo(
            "note: FEDI_SECRET_KEY is set and wins over the restored secret_key file",
            err=True,
        )
