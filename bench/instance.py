"""One benchmarked instance: its environment, database, seeding, and its processes.

The database is created and seeded from this (orchestrating) process through the models,
which is much faster than going through the services one row at a time; then real
``fedi serve`` and ``fedi worker`` processes are started on it, exactly as an operator would.
Peak memory is read from ``/proc/<pid>/status`` (``VmHWM``) just before each process stops.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fedi.settings import Settings

FEDI_BIN = Path(sys.executable).parent / "fedi"
PG_URL = os.environ.get("FEDI_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    """A free TCP port on loopback, below Linux's ephemeral range.

    Port 0 would hand out an ephemeral port, which the OS may give to one of the many
    outgoing connections of a running test before our server binds it ("address already
    in use"). Ports under 32768 are only ever taken by listeners.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found in 20000-32000")


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts connections on ``127.0.0.1:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set size (``VmHWM``) of a live process, in MB; None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    """The pids of the live processes whose parent is ``pid`` (from ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def command_of(pid: int) -> list[bytes] | None:
    """The command line of a live process, word by word; None if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None


def is_serving(command: list[bytes]) -> bool:
    """Whether a child of ``fedi serve`` with this command line serves (a web child of
    ``FEDI_WEB_PROCESSES``) rather than works (its ``fedi worker``)."""
    return b"serve" in command


def is_serving_name(name: str) -> bool:
    """Whether a name of :meth:`Instance.pids` is a serving process (``serve``, ``web2``...)."""
    return name == "serve" or name.startswith("web")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a live process has used so far, in seconds; None if gone.

    Used to report CPU milliseconds per activity, which (unlike wall time) barely changes
    when something else runs on the machine.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine's cores have spent busy since boot (``/proc/stat``).

    Read before and after a measured phase, the difference over its wall time is how many
    cores were busy: every process counts, the load generator, the loopback servers and
    PostgreSQL included. Near the core count it says a target is bound by the machine.
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


class MachineBusy:
    """How many cores the machine kept busy from its creation until ``cores()``."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.busy = busy_cpu_seconds()

    def cores(self) -> float | None:
        """Busy CPU seconds over wall seconds since the start (None when no time passed)."""
        elapsed = time.monotonic() - self.started
        return round((busy_cpu_seconds() - self.busy) / elapsed, 2) if elapsed > 0 else None


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by the processes of the local PostgreSQL server.

    Its backends are found by name (``postgres``); a backend that exits during a phase takes
    its time with it, which the connection pools of ``fedi serve`` and ``fedi worker`` make
    rare: they keep their connections open.
    """
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        used = cpu_seconds(int(entry.name))
        total += used or 0.0
    return total


def postgres_available() -> bool:
    """Whether the PostgreSQL server of the test setup answers on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def drop_schema(schema: str) -> None:
    """Drop a benchmark schema and everything in it."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@dataclass
class Instance:
    """A benchmarked instance on a loopback port with its own data folder and database."""

    root: Path
    db: str = "sqlite"  # sqlite | postgresql
    server: str = "uvicorn"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    schema: str | None = None
    serve: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    # Further ``fedi worker`` processes beside ``worker`` (named worker2, worker3, ...).
    more_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    peaks: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = self.root / f"instance-{self.port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
        env.update(
            FEDI_BASE_URL=self.base_url,
            FEDI_BIND=f"127.0.0.1:{self.port}",
            FEDI_DATA_DIR=str(self.data_dir),
            FEDI_ALLOW_PRIVATE_NETWORK="1",
            FEDI_DEMO="0",
            FEDI_SECRET_KEY="bench-" + secrets.token_hex(8),
            FEDI_SERVER=self.server,
            PYTHONUNBUFFERED="1",
        )
        if self.db == "postgresql":
            self.schema = "bench_" + secrets.token_hex(5)
            env["FEDI_DATABASE_URL"] = PG_URL
            env["FEDI_DATABASE_SCHEMA"] = self.schema
        env.update(self.extra_env)
        self.env = env

    @property
    def base_url(self) -> str:
        """``http://localhost:PORT``."""
        return f"http://localhost:{self.port}"

    @property
    def host(self) -> str:
        """``localhost:PORT``, the Host header requests carry."""
        return f"localhost:{self.port}"

    def settings(self) -> Settings:
        """The settings the processes read from the same environment."""
        return Settings.from_env(self.env)

    def _log(self, name: str) -> Any:
        return (self.data_dir / f"{name}.log").open("ab")

    def processes(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        """The running processes by name: serve, worker, worker2, ..."""
        named = [("serve", self.serve), ("worker", self.worker)]
        named += [(f"worker{n}", p) for n, p in enumerate(self.more_workers, start=2)]
        return [(name, process) for name, process in named if process is not None]

    def start(
        self, *, separate_worker: bool = True, workers: int = 1, mode: str = "process"
    ) -> None:
        """Start ``fedi serve`` and wait until healthy.

        With ``separate_worker``, ``workers`` ``fedi worker`` processes are started beside it
        (``FEDI_RUN_WORKERS=off``); otherwise ``fedi serve`` runs its own workers as
        ``mode`` says: ``process`` (the default deployment: a worker child it starts
        itself) or ``inline`` (in its own event loop).
        """
        env = dict(self.env)
        env["FEDI_RUN_WORKERS"] = "off" if separate_worker else mode
        self.serve = subprocess.Popen(
            [str(FEDI_BIN), "serve"], env=env, stdout=self._log("serve"),
            stderr=subprocess.STDOUT, cwd=str(self.data_dir),
        )
        if separate_worker:
            self.worker = subprocess.Popen(
                [str(FEDI_BIN), "worker"], env=env, stdout=self._log("worker"),
                stderr=subprocess.STDOUT, cwd=str(self.data_dir),
            )
            for number in range(2, workers + 1):
                self.more_workers.append(subprocess.Popen(
                    [str(FEDI_BIN), "worker"], env=env, stdout=self._log(f"worker{number}"),
                    stderr=subprocess.STDOUT, cwd=str(self.data_dir),
                ))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.serve.poll() is not None:
                raise RuntimeError(f"fedi serve exited early:\n{self.log('serve')[-4000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"fedi serve did not become healthy:\n{self.log('serve')[-4000:]}")

    def pids(self) -> list[tuple[str, int]]:
        """Every process of the instance by name: ``serve``, ``worker`` (``worker2``...),
        and the children of ``fedi serve``: its worker child (``worker``) and its other
        serving processes (``web2``, ``web3``... with ``FEDI_WEB_PROCESSES``)."""
        named = [(name, process.pid) for name, process in self.processes()]
        if self.serve is not None:
            web = 1
            for pid in children_of(self.serve.pid):
                command = command_of(pid)
                if command is None:
                    continue
                if is_serving(command):
                    web += 1
                    named.append((f"web{web}", pid))
                else:
                    named.append(("worker" if self.worker is None else "child", pid))
        return named

    def serving_cpu(self) -> float | None:
        """CPU seconds used so far by ``fedi serve`` and its other serving processes."""
        times = [cpu_seconds(pid) for name, pid in self.pids() if is_serving_name(name)]
        return None if not times or None in times else sum(t for t in times if t is not None)

    def cpu(self) -> dict[str, float | None]:
        """CPU seconds used so far by ``fedi serve`` and each ``fedi worker``."""
        return {name: cpu_seconds(pid) for name, pid in self.pids()}

    def log(self, name: str) -> str:
        """What a process printed (for error messages)."""
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> dict[str, float | None]:
        """Read each process's peak RSS, stop them (SIGTERM), return the peaks in MB."""
        # Read first: stopping ``fedi serve`` also stops its worker child.
        peaks: dict[str, float | None] = {name: peak_rss_mb(pid) for name, pid in self.pids()}
        for _name, process in self.processes():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.serve = self.worker = None
        self.more_workers = []
        for name, value in peaks.items():
            if value is not None:
                self.peaks[name] = max(value, self.peaks.get(name) or 0.0)
        return peaks

    async def cleanup(self) -> None:
        """Stop the processes and drop the PostgreSQL schema, if any."""
        self.stop()
        if self.schema:
            await drop_schema(self.schema)


def run_async(coro: Any) -> Any:
    """Run a coroutine from the synchronous orchestrator."""
    return asyncio.run(coro)
