"""Backups of a whole instance in one archive, and bringing one back into an empty instance.

An archive (``.tar.gz``, mode 0600: it holds private keys) contains:

- ``manifest.json``: format, program version, Alembic revision, database kind, PostgreSQL
  schema, base URL, creation time;
- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while ``fedi serve``
  keeps writing) or ``database.pgdump`` (``pg_dump`` in its custom format, one consistent
  snapshot of the instance's schema);
- ``secret_key``: the key that signs sessions' CSRF tokens and flash cookies;
- ``uploads/``: avatars and images.

The actors' private keys live in the database, so a restored instance signs with the keys
other servers already know. The database is copied before the uploads: a file uploaded
in between is in the archive without a row pointing at it, never the other way round.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from fedi.db import alembic_config
from fedi.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
SECRET_MEMBER = "secret_key"  # noqa: S105 - the member's name, not a secret
UPLOADS_MEMBER = "uploads"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
T = TypeVar("T")


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says about an archive."""

    format: int
    version: str
    alembic_revision: str | None
    database: str
    schema: str | None
    base_url: str
    created_at: str

    def as_json(self) -> bytes:
        """The manifest as the archive stores it."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Read a stored manifest; refuse a format this program does not know."""
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r}")
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


def program_version() -> str:
    """The installed version of this program."""
    try:
        return metadata.version("fedi-partup")
    except metadata.PackageNotFoundError:
        return "unknown"


def default_archive_name(now: datetime | None = None) -> str:
    """``fedi-backup-20261206T041500Z.tar.gz``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"fedi-backup-{stamp}.tar.gz"


# ---------------------------------------------------------------- database access


def sqlite_path(settings: Settings) -> Path:
    """The file of the SQLite database."""
    path = make_url(settings.database_url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(path)


def libpq_url(settings: Settings, *, password: bool = True) -> str:
    """The database URL as ``pg_dump``/``pg_restore``/asyncpg take it (no driver name)."""
    url = make_url(settings.database_url).set(drivername="postgresql")
    if not password:
        url = url.set(password=None)
    return url.render_as_string(hide_password=False)


def _client_env(settings: Settings) -> dict[str, str]:
    """The environment of ``pg_dump``/``pg_restore``: the password goes here, not in ``ps``."""
    env = dict(os.environ)
    password = make_url(settings.database_url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _sqlite_revision(path: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def _sqlite_has_tables(path: Path) -> bool:
    if not path.exists():
        return False
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%'"
        ).fetchone()
    return bool(row and row[0])


def _with_pg(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` with one asyncpg connection to the instance's database, then close it."""

    async def runner() -> T:
        conn = await asyncpg.connect(libpq_url(settings))
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(runner())


def _quoted(schema: str) -> str:
    """A schema name checked and quoted for SQL (names come from settings and manifests)."""
    if not _SCHEMA_NAME.match(schema):
        raise BackupError(f"invalid schema name {schema!r}")
    return f'"{schema}"'


def _pg_schema(settings: Settings) -> str:
    return settings.database_schema or "public"


def pg_revision(settings: Settings) -> str | None:
    """The Alembic revision of the PostgreSQL schema, or None before the first upgrade."""
    schema = _quoted(_pg_schema(settings))

    async def work(conn: Any) -> str | None:
        if not await conn.fetchval("SELECT to_regclass($1)", f"{schema}.alembic_version"):
            return None
        query = f"SELECT version_num FROM {schema}.alembic_version"  # noqa: S608 - checked name
        value = await conn.fetchval(query)
        return None if value is None else str(value)

    return _with_pg(settings, work)


def pg_table_count(settings: Settings, schema: str) -> int:
    """How many tables ``schema`` holds (0 when it does not exist)."""

    async def work(conn: Any) -> int:
        return int(await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema
        ))

    return _with_pg(settings, work)


def _pg_execute(settings: Settings, *statements: str) -> None:
    """Run DDL statements (with names already checked by ``_quoted``) in order."""

    async def work(conn: Any) -> None:
        for statement in statements:
            await conn.execute(statement)

    _with_pg(settings, work)


def _run(settings: Settings, command: list[str]) -> None:
    """Run a PostgreSQL client program; its error output becomes the message on failure."""
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    # Our own argument list (the program, fixed options, paths and the configured URL).
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False, env=_client_env(settings)
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


# ---------------------------------------------------------------- backup


def write_backup(settings: Settings, output: Path) -> Manifest:
    """Write a consistent archive of the instance to ``output`` (replaced atomically)."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fedi-backup-") as work:
        folder = Path(work)
        if settings.is_sqlite:
            source = sqlite_path(settings)
            if not source.exists():
                raise BackupError(f"there is no database at {source}")
            member = SQLITE_MEMBER
            copy_sqlite(source, folder / member)
            revision = _sqlite_revision(folder / member)
        else:
            member, revision = PG_MEMBER, pg_revision(settings)
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                       f"--file={folder / member}"]
            if settings.database_schema:
                _quoted(settings.database_schema)
                command.append(f"--schema={settings.database_schema}")
            _run(settings, [*command, libpq_url(settings, password=False)])
        manifest = Manifest(
            format=FORMAT, version=program_version(), alembic_revision=revision,
            database="sqlite" if settings.is_sqlite else "postgresql",
            schema=None if settings.is_sqlite else settings.database_schema,
            base_url=settings.base_url, created_at=datetime.now(UTC).isoformat(),
        )
        partial = output.with_name(output.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, MANIFEST, manifest.as_json())
            tar.add(folder / member, arcname=member)
            _add_bytes(tar, SECRET_MEMBER, settings.secret_key.encode())
            if settings.uploads_dir.is_dir():
                tar.add(settings.uploads_dir, arcname=UPLOADS_MEMBER)
        partial.replace(output)
    return manifest


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database with its online backup API (consistent, WAL included)."""
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src, \
            closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        # Without WAL: the copy is one self-contained file.
        dst.execute("PRAGMA journal_mode=DELETE")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- restore


def read_manifest(archive: Path) -> Manifest:
    """The manifest of ``archive``, or a clear error when it is not one of our backups."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            handle = tar.extractfile(MANIFEST)
            if handle is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(handle.read())
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive} is not a fedi backup ({exc})") from exc


def check_revision(manifest: Manifest) -> None:
    """Refuse a backup made by a newer program (its schema is unknown to this one)."""
    if manifest.alembic_revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(manifest.alembic_revision)
    except Exception as exc:  # alembic raises several types for an unknown revision
        raise BackupError(
            f"the backup's database revision {manifest.alembic_revision} is unknown to this "
            f"version ({program_version()}); restore it with the version that made it "
            f"({manifest.version}) or newer"
        ) from exc


@contextmanager
def _unpacked(archive: Path) -> Iterator[Path]:
    """The archive unpacked into a private temporary folder (members checked first)."""
    with tempfile.TemporaryDirectory(prefix="fedi-restore-") as work, \
            tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            top = member.name.split("/", 1)[0]
            if top not in {MANIFEST, SQLITE_MEMBER, PG_MEMBER, SECRET_MEMBER, UPLOADS_MEMBER}:
                raise BackupError(f"unexpected file {member.name!r} in the archive")
            # A backup holds plain files and folders only: no links, devices or paths that
            # climb out of the folder it is unpacked into.
            if not (member.isfile() or member.isdir()) or member.name.startswith("/") \
                    or ".." in Path(member.name).parts:
                raise BackupError(f"refusing {member.name!r}: not a plain file in the folder")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(work, filter="data")
        else:
            # Python 3.11 before 3.11.4 (Debian 12 ships 3.11.2) has no extraction filters;
            # the check above already refused everything the "data" filter would.
            tar.extractall(work)  # noqa: S202
        yield Path(work)


def uploads_present(settings: Settings) -> bool:
    """Whether the data folder already holds uploaded files."""
    folder = settings.uploads_dir
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


def target_is_empty(settings: Settings, manifest: Manifest) -> list[str]:
    """What is already in the instance a restore would overwrite (empty when nothing)."""
    found: list[str] = []
    if settings.is_sqlite:
        if _sqlite_has_tables(sqlite_path(settings)):
            found.append(f"the database {sqlite_path(settings)} has tables")
    else:
        schema = _pg_schema(settings)
        if pg_table_count(settings, schema):
            found.append(f"the PostgreSQL schema {schema!r} has tables")
    if uploads_present(settings):
        found.append(f"{settings.uploads_dir} holds files")
    return found


def restore_backup(settings: Settings, archive: Path, *, force: bool) -> Manifest:
    """Bring ``archive`` back into the instance ``settings`` describe.

    The database (its kind must match the backup's), the secret key file and the uploads
    are replaced. Without ``force`` an instance that already holds data is refused.
    """
    manifest = read_manifest(archive)
    check_revision(manifest)
    wanted = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest.database != wanted:
        raise BackupError(
            f"this is a backup of a {manifest.database} database, but FEDI_DATABASE_URL "
            f"points to {wanted}"
        )
    if not settings.is_sqlite:
        _check_pg_schemas(settings, manifest)
    existing = target_is_empty(settings, manifest)
    if existing and not force:
        raise BackupError(
            "the instance is not empty (" + "; ".join(existing) + "); restore into an empty "
            "data folder and database, or pass --force to replace what is there"
        )
    with _unpacked(archive) as folder:
        if settings.is_sqlite:
            _restore_sqlite(settings, folder / SQLITE_MEMBER)
        else:
            _restore_pg(settings, manifest, folder / PG_MEMBER)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = folder / SECRET_MEMBER
        if secret.exists():
            target = settings.data_dir / "secret_key"
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secret.read_bytes())
        if settings.uploads_dir.exists():
            shutil.rmtree(settings.uploads_dir)
        if (folder / UPLOADS_MEMBER).is_dir():
            shutil.copytree(folder / UPLOADS_MEMBER, settings.uploads_dir)
    return manifest


def _restore_sqlite(settings: Settings, copy: Path) -> None:
    target = sqlite_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(copy, staged)
    staged.chmod(0o600)  # it holds the actors' private keys
    staged.replace(target)


def _check_pg_schemas(settings: Settings, manifest: Manifest) -> None:
    """A backup of schema A restores into schema B only where A is free to pass through.

    The dump recreates its own schema, renamed afterwards; a live schema of that name in
    the same database (the original instance, say) is never touched.
    """
    source_schema = manifest.schema or "public"
    target_schema = _pg_schema(settings)
    if source_schema == target_schema:
        return
    if "public" in {source_schema, target_schema}:
        fix = ("unset FEDI_DATABASE_SCHEMA" if source_schema == "public"
               else f"set FEDI_DATABASE_SCHEMA={source_schema}")
        raise BackupError(f"the backup lives in schema {source_schema!r}; {fix} to restore it")
    if pg_table_count(settings, source_schema):
        raise BackupError(
            f"schema {source_schema!r} of the backup exists in this database; restore into "
            f"another database, or with FEDI_DATABASE_SCHEMA={source_schema} into that schema"
        )


def _restore_pg(settings: Settings, manifest: Manifest, dump: Path) -> None:
    """Restore the dump into its own schema name, then rename it to the configured one."""
    source_schema = _quoted(manifest.schema or "public")
    target_schema = _quoted(_pg_schema(settings))
    # Only the configured schema is replaced (checked empty, or --force); the backup's own
    # name is free (``_check_pg_schemas``). A dump of a whole database does not create
    # "public" itself, so it is made again before the restore.
    _pg_execute(
        settings,
        *(f"DROP SCHEMA IF EXISTS {name} CASCADE" for name in dict.fromkeys(
            [source_schema, target_schema])),
        *(['CREATE SCHEMA "public"'] if source_schema == '"public"' else []),
    )
    _run(settings, ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                    f"--dbname={libpq_url(settings, password=False)}", str(dump)])
    if source_schema != target_schema:
        _pg_execute(settings, f"ALTER SCHEMA {source_schema} RENAME TO {target_schema}")
