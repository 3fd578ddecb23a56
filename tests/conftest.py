"""Shared fixtures: databases on SQLite and PostgreSQL, apps, live servers and a browser.

Database tests are parametrised over both engines. Without a PostgreSQL server (or
Chromium) those tests skip with the reason shown; with ``FEDI_TEST_REQUIRE_ALL=1`` (set by
CI) a missing service fails the run instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from bench.instance import free_port
from fedi.app import create_app
from fedi.settings import Settings
from fedi.state import FediApp

# The federation test helpers (two in-process instances on one routing transport, fake and
# loopback peers, live-instance helpers) import each other by module name; the tests of
# meetups, polls, your data and security use them too, so their folder is importable
# wherever a test runs from.
_FEDERATION_HELPERS = str(Path(__file__).resolve().parent / "federation")
if _FEDERATION_HELPERS not in sys.path:
    sys.path.insert(0, _FEDERATION_HELPERS)

from harness import AppPair, running_pair  # noqa: E402

# Cheap password hashes for the many accounts tests create; inherited by live servers too.
os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")

PG_ADMIN_URL = os.environ.get("FEDI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_ALL = os.environ.get("FEDI_TEST_REQUIRE_ALL") == "1"
ROOT = Path(__file__).resolve().parent.parent
FEDI_BIN = Path(sys.executable).parent / "fedi"


def missing_service(reason: str) -> NoReturn:
    """Skip (on a user's machine) or fail (in CI) because a service is not there."""
    if REQUIRE_ALL:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


_pg_state: dict[str, Any] = {}


def postgres_available() -> bool:
    """Whether the PostgreSQL test server answers (checked once per run)."""
    if "ok" not in _pg_state:
        try:
            with socket.create_connection(("127.0.0.1", 5432), timeout=1):
                _pg_state["ok"] = True
        except OSError:
            _pg_state["ok"] = False
    return bool(_pg_state["ok"])


def new_schema_name() -> str:
    """A fresh schema name for one test, so runs never see each other's rows."""
    return "t_" + secrets.token_hex(6)


async def drop_pg_schema(schema: str) -> None:
    """Drop a test schema and everything in it."""
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@dataclass
class DbTarget:
    """Where one test's database lives."""

    kind: str
    url: str
    schema: str | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DbTarget]:
    """A fresh, empty database on each engine."""
    if request.param == "sqlite":
        yield DbTarget("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
        return
    if not postgres_available():
        missing_service("PostgreSQL is not running on 127.0.0.1:5432")
    schema = new_schema_name()
    yield DbTarget("postgresql", PG_ADMIN_URL, schema)
    await drop_pg_schema(schema)


def make_settings(tmp_path: Path, target: DbTarget | None = None, **changes: Any) -> Settings:
    """Settings for a test instance, with its own data folder."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    url = target.url if target else f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}"
    base = Settings(
        base_url="http://localhost:8000",
        data_dir=data_dir,
        database_url=url,
        database_schema=target.schema if target else None,
        secret_key="test-secret-" + secrets.token_hex(8),
        allow_private_network=True,
        default_locale="nl",
        run_workers=False,
    )
    return base.with_changes(**changes) if changes else base


@pytest.fixture
async def settings(tmp_path: Path, db_target: DbTarget) -> Settings:
    """Settings on the parametrised database."""
    return make_settings(tmp_path, db_target)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FediApp]:
    """A migrated app inside ``test_app()`` (so startup and shutdown hooks run)."""
    application = create_app(settings)
    await application.state.db.upgrade()
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: FediApp) -> Any:
    """Quart's test client for ``app``."""
    return app.test_client()


# ---------------------------------------------------------------- live servers


@dataclass
class LiveServer:
    """A real ``fedi serve`` process on a loopback port with its own data and database."""

    port: int
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Arguments after ``fedi serve`` (``--bind``, ``--server``).
    args: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The instance's base URL."""
        return f"http://localhost:{self.port}"

    @property
    def host(self) -> str:
        """``localhost:PORT``, as used in handles."""
        return f"localhost:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until ``/healthz`` answers."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(FEDI_BIN), "serve", *self.args], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, cwd=str(self.data_dir.parent),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fedi serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"fedi serve did not become healthy:\n{self.log()}")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then forcefully if needed."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Kill with SIGKILL, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a ``fedi`` command against this instance's settings."""
        result = subprocess.run(
            [str(FEDI_BIN), *args], env=self.env, capture_output=True, text=True, timeout=120,
            cwd=str(self.data_dir.parent), check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"fedi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Any]:
    """Start any number of real instances: ``live_server_factory(db='sqlite', **env)``."""
    servers: list[LiveServer] = []
    schemas: list[str] = []

    def start(db: str = "sqlite", **extra_env: str) -> LiveServer:
        port = free_port()
        root = tmp_path / f"instance-{port}"
        data_dir = root / "data"
        data_dir.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
        env.update(
            FEDI_BASE_URL=f"http://localhost:{port}",
            FEDI_BIND=f"127.0.0.1:{port}",
            FEDI_DATA_DIR=str(data_dir),
            FEDI_ALLOW_PRIVATE_NETWORK="1",
            FEDI_DEMO="0",
            FEDI_SECRET_KEY="live-" + secrets.token_hex(8),
            PYTHONUNBUFFERED="1",
            FEDI_TEST_CHEAP_HASHES="1",
        )
        if db == "postgresql":
            if not postgres_available():
                missing_service("PostgreSQL is not running on 127.0.0.1:5432")
            schema = new_schema_name()
            schemas.append(schema)
            env["FEDI_DATABASE_URL"] = PG_ADMIN_URL
            env["FEDI_DATABASE_SCHEMA"] = schema
        env.update(extra_env)
        server = LiveServer(port, data_dir, env, root / "server.log")
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
    for schema in schemas:
        asyncio.run(drop_pg_schema(schema))


# ---------------------------------------------------------------- browser


def chromium_path() -> str | None:
    """The system Chromium, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium driven by Playwright (system Chromium, no downloads)."""
    executable = chromium_path()
    if executable is None:
        missing_service("Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_service("the playwright package is not installed")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def two_apps(tmp_path: Path) -> AsyncIterator[AppPair]:
    """Instances at localhost:8001 and localhost:8002 on one routing transport
    (``tests/federation/conftest.py`` tells how the federation tests use them)."""
    async with running_pair(tmp_path) as pair:
        yield pair


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd on a loopback port) that wants a login
    (``tests/mail/smtp_helpers.py``)."""
    from tests.mail.smtp_helpers import SmtpServer

    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def mail_app(settings: Settings, smtp: Any) -> AsyncIterator[FediApp]:
    """An app whose mail goes to the ``smtp`` server."""
    from tests.mail.smtp_helpers import running_app

    async for application in running_app(settings.with_changes(smtp_url=smtp.url)):
        yield application
