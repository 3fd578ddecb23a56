"""One typed settings object, read from the environment and passed into ``create_app``.

Every ``fedi`` command builds its settings the same way, so a CLI command run beside
``fedi serve`` acts on the same database and data folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from fedi.i18n import SUPPORTED_LOCALES

REGISTRATION_MODES = ("open", "approval", "invite")
SERVERS = ("uvicorn", "hypercorn")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
# The database drivers we ship; anything else fails at start rather than at first query.
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql", "postgres")
# Same rule as ``fedi.db`` applies when it sets the PostgreSQL search path.
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A metrics token short enough to guess would expose the instance's traffic figures.
MIN_METRICS_TOKEN = 16

T = TypeVar("T")


class SettingsError(ValueError):
    """Settings in the environment have values we cannot use: one line per wrong value."""

    def __init__(self, *problems: str) -> None:
        """Keep every problem; the message lists them one per line."""
        self.problems = list(problems)
        super().__init__("\n".join(problems))


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


# ``FEDI_WEB_PROCESSES=auto``: one serving process per core, at most this many (each holds
# its own caches and ~140 MB).
AUTO_WEB_PROCESSES_MAX = 8


def _web_processes(value: str | None) -> int:
    """``FEDI_WEB_PROCESSES``: a number from 1 to 64, or ``auto`` (one per core, at most
    :data:`AUTO_WEB_PROCESSES_MAX`)."""
    raw = (value or "").strip().lower()
    if raw == "auto":
        return max(1, min(os.cpu_count() or 1, AUTO_WEB_PROCESSES_MAX))
    number = _int("FEDI_WEB_PROCESSES", raw, 1)
    if not 1 <= number <= 64:
        raise SettingsError(f"FEDI_WEB_PROCESSES must be auto or between 1 and 64, got {number}")
    return number


def _timezone(value: str | None) -> str:
    """``FEDI_TIMEZONE``: an IANA zone name such as ``Europe/Amsterdam``."""
    from zoneinfo import ZoneInfo

    name = (value or "").strip() or "Europe/Amsterdam"
    try:
        ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise SettingsError(f"FEDI_TIMEZONE: unknown time zone {name!r}") from exc
    return name


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
    # The largest image upload (avatars, tribe and initiative images), ``FEDI_MAX_UPLOAD_MB``:
    # phone photos are 3-12 MB; they are shrunk and re-encoded before storing.
    max_avatar_bytes: int = 20_000_000
    # The time zone dates are shown in (``FEDI_TIMEZONE``); stored times are UTC.
    timezone: str = "Europe/Amsterdam"
    # The inbox and delivery loops inside this process's event loop (``FEDI_RUN_WORKERS=inline``).
    run_workers: bool = True
    # ``fedi serve`` starts ``fedi worker`` as a child process beside itself and keeps it
    # running (``FEDI_RUN_WORKERS=process``, the default): accepts and pages keep one core,
    # the workers get the other (BENCHMARKS.md).
    worker_process: bool = False
    # The child's scheduling priority (``FEDI_WORKER_NICE``, 0-19, added to the server's):
    # when both want the CPU, accepts, pages and C2S posts come first and the queue waits
    # (BENCHMARKS.md, finding 13).
    worker_niceness: int = 0
    # Serving processes of ``fedi serve`` on its one port (``FEDI_WEB_PROCESSES``, a number or
    # ``auto``): the kernel spreads connections over them (``SO_REUSEPORT``), so pages for
    # many members at once use every core. uvicorn only; the worker child stays one.
    web_processes: int = 1
    # POSTs in flight per worker process; 200 ms inboxes need ~100 to reach 500 per second.
    delivery_concurrency: int = 128
    trust_forwarded_for: bool = False
    # The ASGI server behind ``fedi serve``; the benchmarks chose uvicorn (BENCHMARKS.md).
    server: str = "uvicorn"
    # How long a worker's claim on a queue row lasts; after a crash, rows wait this long.
    worker_lease_seconds: int = 120
    # Operations (README "Operations"): log format and level, the one-line-per-request log,
    # who may read ``/metrics`` (off unless a token or addresses are set), and how old the
    # oldest due queue row may be before ``/readyz`` reports the queues as stuck.
    log_format: str = "text"
    log_level: str = "info"
    request_log: bool = True
    metrics_token: str | None = None
    metrics_allow: tuple[str, ...] = ()
    ready_max_queue_age_seconds: int = 900
    # Rate limits (SECURITY.md). Registrations count accounts created per address and hour, so
    # a sign-up evening on one Wi-Fi needs room; 0 switches a limit off.
    registrations_per_ip_per_hour: int = 20
    # Posts per account (Mastodon's default: 300 per 3 hours).
    posts_per_3_hours: int = 300
    # Inbox POSTs accepted per remote domain and minute (per server process); beyond: 429.
    inbox_per_domain_per_minute: int = 3000
    # Outgoing e-mail (issue 12): the SMTP server (``fedi.workers.mail`` reads the URL) and
    # the sender. Without a server, mails are written as .eml files into ``<data>/mail``.
    smtp_url: str | None = None
    mail_from: str = ""

    @property
    def metrics_enabled(self) -> bool:
        """Whether ``/metrics`` answers at all (a token or allowed addresses are set)."""
        return bool(self.metrics_token or self.metrics_allow)

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
        """Read the settings from ``FEDI_*`` variables, filling defaults and the secret key.

        Every variable is checked before anything starts; all wrong values are reported
        together (one line each, naming the variable) in one :class:`SettingsError`.
        """
        env = _Reader(dict(os.environ if environ is None else environ))
        base_url = env.base_url()
        data_dir = Path(env.text("FEDI_DATA_DIR", "data")).resolve()
        database_url = env.database_url(data_dir)
        schema = env.text("FEDI_DATABASE_SCHEMA", "") or None
        if schema is not None and not _SCHEMA_NAME.match(schema):
            env.problem(
                "FEDI_DATABASE_SCHEMA must be a lower-case name (letters, digits, _), "
                f"got {schema!r}"
            )
        workers = env.check("FEDI_RUN_WORKERS", _workers_mode, "process")
        smtp_url = env.text("FEDI_SMTP_URL", "") or None
        if smtp_url is not None and (
            urlsplit(smtp_url).scheme not in ("smtp", "smtp+starttls", "smtps")
            or not urlsplit(smtp_url).hostname
        ):
            env.problem("FEDI_SMTP_URL must look like smtp://user:password@host:587 "
                        "(or smtp+starttls://..., smtps://...:465)")
        settings = cls(
            base_url=base_url,
            bind=env.bind(),
            data_dir=data_dir,
            database_url=database_url,
            database_schema=schema,
            secret_key=env.text("FEDI_SECRET_KEY", ""),
            allow_private_network=env.flag("FEDI_ALLOW_PRIVATE_NETWORK", False),
            demo=env.flag("FEDI_DEMO", False),
            instance_name=env.text("FEDI_INSTANCE_NAME", "") or "Part-up",
            default_locale=env.choice("FEDI_DEFAULT_LOCALE", SUPPORTED_LOCALES, "nl", lower=False),
            registration_mode=env.choice("FEDI_REGISTRATION", REGISTRATION_MODES, "open"),
            max_body_bytes=env.number("FEDI_MAX_BODY_BYTES", 1_000_000, 1024, 100_000_000),
            max_avatar_bytes=env.number("FEDI_MAX_UPLOAD_MB", 20, 1, 200) * 1_000_000,
            timezone=env.check("FEDI_TIMEZONE", _timezone, "Europe/Amsterdam"),
            run_workers=workers == "inline",
            worker_process=workers == "process",
            worker_niceness=env.number("FEDI_WORKER_NICE", 0, 0, 19),
            web_processes=env.check("FEDI_WEB_PROCESSES", _web_processes, 1),
            delivery_concurrency=env.number("FEDI_DELIVERY_CONCURRENCY", 128, 1, 10_000),
            trust_forwarded_for=env.flag("FEDI_TRUST_FORWARDED_FOR", False),
            server=env.choice("FEDI_SERVER", SERVERS, "uvicorn"),
            worker_lease_seconds=env.number("FEDI_WORKER_LEASE_SECONDS", 120, 1, 86_400),
            log_format=env.choice("FEDI_LOG_FORMAT", LOG_FORMATS, "text"),
            log_level=env.choice("FEDI_LOG_LEVEL", LOG_LEVELS, "info"),
            request_log=env.flag("FEDI_REQUEST_LOG", True),
            metrics_token=env.metrics_token(),
            metrics_allow=env.networks("FEDI_METRICS_ALLOW"),
            ready_max_queue_age_seconds=env.number(
                "FEDI_READY_MAX_QUEUE_AGE_SECONDS", 900, 1, 7 * 86_400
            ),
            registrations_per_ip_per_hour=env.number(
                "FEDI_REGISTRATIONS_PER_IP_PER_HOUR", 20, 0, 1_000_000
            ),
            posts_per_3_hours=env.number("FEDI_POSTS_PER_3_HOURS", 300, 0, 1_000_000),
            inbox_per_domain_per_minute=env.number(
                "FEDI_INBOX_PER_DOMAIN_PER_MINUTE", 3000, 0, 10_000_000
            ),
            smtp_url=smtp_url,
            mail_from=env.text("FEDI_MAIL_FROM", ""),
        )
        if env.problems:
            raise SettingsError(*env.problems)
        if not settings.secret_key:
            settings = replace(settings, secret_key=load_or_create_secret(data_dir))
        return settings


class _Reader:
    """Reads ``FEDI_*`` values, noting each wrong one and going on with its default."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        """Note one wrong value (the message names the variable)."""
        self.problems.append(message)

    def text(self, name: str, default: str) -> str:
        """The value stripped of spaces, or ``default`` when unset."""
        return self.env.get(name, default).strip()

    def check(self, name: str, parse: Callable[[str | None], T], default: T) -> T:
        """``parse(value)``, or ``default`` with the problem noted when it raises."""
        try:
            return parse(self.env.get(name))
        except SettingsError as exc:
            message = str(exc)
            self.problem(message if message.startswith(name) else f"{name}: {message}")
            return default

    def flag(self, name: str, default: bool) -> bool:
        """A boolean (1/0, true/false, yes/no, on/off)."""
        return self.check(name, lambda value: _flag(value, default), default)

    def number(self, name: str, default: int, lowest: int, highest: int) -> int:
        """A whole number between ``lowest`` and ``highest``."""
        value = self.check(name, lambda raw: _int(name, raw, default), default)
        if not lowest <= value <= highest:
            self.problem(f"{name} must be between {lowest} and {highest}, got {value}")
            return default
        return value

    def choice(
        self, name: str, allowed: tuple[str, ...], default: str, *, lower: bool = True
    ) -> str:
        """One of ``allowed`` (compared in lower case unless ``lower`` is off)."""
        value = self.text(name, "") or default
        value = value.lower() if lower else value
        if value not in allowed:
            self.problem(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
            return default
        return value

    def base_url(self) -> str:
        """``FEDI_BASE_URL``: http(s), a host, an optional port, no path, query or fragment."""
        base_url = self.text("FEDI_BASE_URL", "http://localhost:8000").rstrip("/")
        parts = urlsplit(base_url)
        try:
            port_ok = parts.port is None or 0 < parts.port
        except ValueError:
            port_ok = False
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username is not None
            or not port_ok
        ):
            self.problem(
                f"FEDI_BASE_URL must look like https://example.org (no path), got {base_url!r}"
            )
            return "http://localhost:8000"
        return base_url

    def bind(self) -> str:
        """``FEDI_BIND``: ``host:port`` with a port from 1 to 65535."""
        bind = self.text("FEDI_BIND", "127.0.0.1:8000")
        _host, sep, port = bind.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            self.problem(f"FEDI_BIND must be host:port (port 1-65535), got {bind!r}")
            return "127.0.0.1:8000"
        return bind

    def database_url(self, data_dir: Path) -> str:
        """``FEDI_DATABASE_URL``, the SQLite file in the data folder when unset."""
        url = self.text("FEDI_DATABASE_URL", "")
        if not url:
            return f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}"
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in DATABASE_SCHEMES:
            self.problem(
                "FEDI_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql:// "
                f"(or postgresql+asyncpg://), got {url.split('://', 1)[0]!r}"
            )
            return f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}"
        if scheme in {"postgresql", "postgres"}:
            # Accept the usual libpq spelling and use the async driver we ship.
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url

    def metrics_token(self) -> str | None:
        """``FEDI_METRICS_TOKEN``: unset, or at least ``MIN_METRICS_TOKEN`` characters."""
        token = self.text("FEDI_METRICS_TOKEN", "")
        if token and len(token) < MIN_METRICS_TOKEN:
            self.problem(
                f"FEDI_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters long"
            )
            return None
        return token or None

    def networks(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of addresses or networks (``127.0.0.1, 10.0.0.0/8``)."""
        found: list[str] = []
        for item in filter(None, (part.strip() for part in self.text(name, "").split(","))):
            try:
                found.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                self.problem(f"{name}: {item!r} is not an IP address or network")
        return tuple(found)


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
