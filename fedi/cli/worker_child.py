"""The processes ``fedi serve`` keeps beside itself: its ``fedi worker`` (the default) and,
with ``FEDI_WEB_PROCESSES`` above 1, more serving processes on the same port.

One command still runs a whole instance, but the inbox and delivery loops live in a child
process: with them inside the server's event loop, accepting an activity (~0.6 ms of CPU)
and processing it (~1.1 ms, more with its deliveries) shared one thread, and a busy inbox
left both starved (BENCHMARKS.md). As a child they get the machine's second core; on SQLite
the two processes take turns at the writer lock as a separate ``fedi worker`` always has.

A web child is another ``fedi serve`` of the same settings that neither upgrades nor seeds
nor starts workers: it opens its own listening socket on the same address with
``SO_REUSEPORT``, and the kernel spreads new connections over the processes
(``fedi.cli.serve_commands``).

Each child is restarted when it dies (with a growing pause, so a child that cannot start
does not spin), stopped with SIGTERM when the server stops, and dies with the server even
when the server is killed outright: Linux's parent-death signal, and for the worker on every
platform its own check that its parent is still the process that started it
(``FEDI_WORKER_PARENT_PID``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import os
import signal
import sys

__all__ = ["PARENT_PID_ENV", "WEB_CHILD_ENV", "SupervisedChild", "WebChild", "WorkerChild",
           "parent_is_gone"]

log = logging.getLogger(__name__)

PARENT_PID_ENV = "FEDI_WORKER_PARENT_PID"
# Set in a web child's environment (to the pid of the ``fedi serve`` that started it): the
# child serves only, on a port it shares with its parent.
WEB_CHILD_ENV = "FEDI_WEB_CHILD_OF"
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
# A child that ran this long before dying was healthy: the next pause starts small again.
HEALTHY_SECONDS = 60.0
STOP_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1


def _child_setup(niceness: int) -> None:
    """In the child, before exec: lower its priority, and die with the parent."""
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    _die_with_parent()


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def parent_is_gone() -> bool:
    """In a worker started by ``fedi serve``: whether that server process has gone away."""
    expected = os.environ.get(PARENT_PID_ENV)
    return bool(expected) and str(os.getppid()) != expected


class SupervisedChild:
    """Starts a ``fedi`` command as a child process and keeps it running until :meth:`stop`."""

    def __init__(
        self, command: str, label: str, env_changes: dict[str, str],
        env: dict[str, str] | None = None, *, niceness: int = 0,
    ) -> None:
        """Prepare the child: ``fedi <command>`` in the server's environment (or ``env``)
        with ``env_changes``; ``label`` names it in the log; ``niceness`` is added to the
        child's scheduling priority (``nice``)."""
        base = dict(os.environ if env is None else env)
        base.update(env_changes)
        self.command = command
        self.label = label
        self.env = base
        self.niceness = niceness
        self.process: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the child and its supervision in the background."""
        self._task = asyncio.create_task(self._supervise(), name=f"fedi-{self.label}-child")

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from fedi.cli import main; main()", self.command,
            env=self.env,
            preexec_fn=functools.partial(_child_setup, self.niceness),
        )

    async def _supervise(self) -> None:
        pause = FIRST_PAUSE
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            started = loop.time()
            self.process = await self._spawn()
            log.info("%s process %s started", self.label, self.process.pid)
            code = await self.process.wait()
            if self._stopping.is_set():
                return
            pause = FIRST_PAUSE if loop.time() - started > HEALTHY_SECONDS else pause
            log.warning("%s process exited with %s; starting it again in %.0f s",
                        self.label, code, pause)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    async def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after ``STOP_SECONDS``) and its supervision."""
        self._stopping.set()
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            await self._task


class WorkerChild(SupervisedChild):
    """``fedi worker`` beside the server: the inbox and delivery loops."""

    def __init__(self, env: dict[str, str] | None = None, *, niceness: int = 0) -> None:
        """The worker in the server's environment (or ``env``), ``niceness`` lower."""
        # The child runs the loops itself; it must not seed demo content a second time.
        super().__init__("worker", "worker", {
            "FEDI_RUN_WORKERS": "off", "FEDI_DEMO": "0", PARENT_PID_ENV: str(os.getpid()),
        }, env, niceness=niceness)


class WebChild(SupervisedChild):
    """One more ``fedi serve`` on the server's port: it serves requests and nothing else."""

    def __init__(
        self, number: int, bind: str, server: str, env: dict[str, str] | None = None
    ) -> None:
        """Web child ``number`` (2, 3, ...) on ``bind`` with ``server``, as the parent serves
        (which its ``--bind`` and ``--server`` may have set), in the server's environment
        (or ``env``)."""
        # No workers (the parent keeps the one worker child), no demo seed, and the mark
        # that makes ``serve`` skip the upgrade and share the port.
        super().__init__("serve", f"web {number}", {
            "FEDI_RUN_WORKERS": "off", "FEDI_DEMO": "0", WEB_CHILD_ENV: str(os.getpid()),
            "FEDI_BIND": bind, "FEDI_SERVER": server,
        }, env)
