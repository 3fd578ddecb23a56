"""One typed settings object, read from the environment and passed into ``create_app``.

Every ``fedi`` command builds its settings the same way, so a CLI command run beside
``fedi serve`` acts on the same database and data folder.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

REGISTRATION_MODES = ("open", "approval", "invite")
SERVERS = ("uvicorn", "hypercorn")


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected a boolean (1/0, true/false, on/off), got {value!r}")


WORKER_MODES = ("process", "inline", "off")


def _workers_mode(value: str | None) -> str:
    """``FEDI_RUN_WORKERS``: ``process`` (default; also 1/on/true), ``inline`` or ``off``."""
    lowered = (value or "").strip().lower()
    if lowered in WORKER_MODES:
        return lowered
    try:
        return "process" if _flag(value, True) else "off"
    except SettingsError:
        raise SettingsError(
            f"FEDI_RUN_WORKERS: expected process, inline or off, got {value!r}"
        ) from None


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything the instance needs to know about its environment."""

    base_url: str = "http://localhost:8000"
    bind: str = "127.0.0.1:8000"
    data_dir: Path = field(default_factory=lambda: Path("data"))
    database_url: str = ""
    database_schema: str | None = None
    secret_key: str = ""
    allow_private_network: bool = False
    demo: bool = False
    instance_name: str = "Part-up"
    default_locale: str = "nl"
    registration_mode: str = "open"
    max_body_bytes: int = 1_000_000
    max_avatar_bytes: int = 2_000_000
    # The inbox and delivery loops inside this process's event loop (``FEDI_RUN_WORKERS=inline``).
    run_workers: bool = True
    # ``fedi serve`` starts ``fedi worker`` as a child process beside itself and keeps it
    # running (``FEDI_RUN_WORKERS=process``, the default): accepts and pages keep one core,
    # the workers get the other (BENCHMARKS.md).
    worker_process: bool = False
    # POSTs in flight per worker process; 200 ms inboxes need ~100 to reach 500 per second.
    delivery_concurrency: int = 128
    trust_forwarded_for: bool = False
    # The ASGI server behind ``fedi serve``; the benchmarks chose uvicorn (BENCHMARKS.md).
    server: str = "uvicorn"
    # How long a worker's claim on a queue row lasts; after a crash, rows wait this long.
    worker_lease_seconds: int = 120

    @property
    def host(self) -> str:
        """The host (with a non-default port) that ids and WebFinger handles use."""
        return urlsplit(self.base_url).netloc.lower()

    @property
    def domain(self) -> str:
        """The host name alone, without a port."""
        return (urlsplit(self.base_url).hostname or "").lower()

    @property
    def secure(self) -> bool:
        """Whether the instance is served over https (cookies are then Secure)."""
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files (avatars, images) are kept."""
        return self.data_dir / "uploads"

    def url(self, path: str) -> str:
        """An absolute URL on this instance for ``path``."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def is_local_id(self, ident: str) -> bool:
        """Whether ``ident`` is a URL on this instance (every id of ours starts so).

        A cheap test that lets the inbox skip database lookups for the many ids in an
        activity's addressing that cannot name anything of ours.
        """
        return ident.startswith(self.base_url + "/")

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``FEDI_*`` variables, filling defaults and the secret key."""
        env = dict(os.environ if environ is None else environ)
        base_url = env.get("FEDI_BASE_URL", "http://localhost:8000").strip().rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            raise SettingsError(
                f"FEDI_BASE_URL must look like https://example.org (no path), got {base_url!r}"
            )
        data_dir = Path(env.get("FEDI_DATA_DIR", "data")).resolve()
        database_url = env.get("FEDI_DATABASE_URL", "").strip()
        if not database_url:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}"
        elif database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
            # Accept the usual libpq spelling and use the async driver we ship.
            database_url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
        registration = env.get("FEDI_REGISTRATION", "open").strip().lower()
        if registration not in REGISTRATION_MODES:
            raise SettingsError(
                f"FEDI_REGISTRATION must be one of {', '.join(REGISTRATION_MODES)}"
            )
        locale = env.get("FEDI_DEFAULT_LOCALE", "nl").strip() or "nl"
        server = env.get("FEDI_SERVER", "uvicorn").strip().lower() or "uvicorn"
        if server not in SERVERS:
            raise SettingsError(f"FEDI_SERVER must be one of {', '.join(SERVERS)}, got {server!r}")
        lease = _int("FEDI_WORKER_LEASE_SECONDS", env.get("FEDI_WORKER_LEASE_SECONDS"), 120)
        if lease < 1:
            raise SettingsError("FEDI_WORKER_LEASE_SECONDS must be at least 1")
        workers = _workers_mode(env.get("FEDI_RUN_WORKERS"))
        settings = cls(
            base_url=base_url,
            bind=env.get("FEDI_BIND", "127.0.0.1:8000").strip(),
            data_dir=data_dir,
            database_url=database_url,
            database_schema=env.get("FEDI_DATABASE_SCHEMA") or None,
            secret_key=env.get("FEDI_SECRET_KEY", "").strip(),
            allow_private_network=_flag(env.get("FEDI_ALLOW_PRIVATE_NETWORK"), False),
            demo=_flag(env.get("FEDI_DEMO"), False),
            instance_name=env.get("FEDI_INSTANCE_NAME", "").strip() or "Part-up",
            default_locale=locale,
            registration_mode=registration,
            max_body_bytes=_int("FEDI_MAX_BODY_BYTES", env.get("FEDI_MAX_BODY_BYTES"), 1_000_000),
            run_workers=workers == "inline",
            worker_process=workers == "process",
            delivery_concurrency=_int(
                "FEDI_DELIVERY_CONCURRENCY", env.get("FEDI_DELIVERY_CONCURRENCY"), 128
            ),
            trust_forwarded_for=_flag(env.get("FEDI_TRUST_FORWARDED_FOR"), False),
            server=server,
            worker_lease_seconds=lease,
        )
        if not settings.secret_key:
            settings = replace(settings, secret_key=load_or_create_secret(data_dir))
        return settings


def load_or_create_secret(data_dir: Path) -> str:
    """The secret key kept in the data folder, created on first use (mode 0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    # Create with O_EXCL so two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
