"""``fedi serve`` keeps a ``fedi worker`` process beside itself (the default).

Real processes: the server is started as an operator would, its child found in ``/proc``,
and both are stopped, killed and restarted the ways production does it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from live_helpers import alive, wait_for

from bench.instance import children_of

pytestmark = pytest.mark.live


def worker_of(server: Any) -> int:
    """The pid of the worker child of a live server (waits until there is one)."""
    pids = wait_for(lambda: children_of(server.process.pid), "a worker child", [server], 20)
    assert len(pids) == 1, pids
    return int(pids[0])


def test_serve_runs_one_worker_and_restarts_it(live_server_factory: Any) -> None:
    """One child worker; when it dies, the server starts it again; stopping the server
    stops it too."""
    server = live_server_factory()
    first = worker_of(server)
    with open(f"/proc/{first}/cmdline", "rb") as handle:
        assert b"worker" in handle.read()
    os.kill(first, signal.SIGKILL)
    second = wait_for(lambda: [p for p in children_of(server.process.pid) if p != first],
                      "a new worker child", [server], 20)
    assert second != [first] and len(second) == 1
    server.stop()
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert server.process.returncode in (0, -signal.SIGTERM)
    wait_for(lambda: not alive(second[0]), "the worker to stop", [server], 10)
    assert "worker process exited" in server.log()
    assert "Traceback" not in server.log()


def test_worker_dies_with_a_killed_server(live_server_factory: Any) -> None:
    """A server killed outright (SIGKILL, a crash) does not leave its worker behind."""
    server = live_server_factory()
    child = worker_of(server)
    server.kill()
    wait_for(lambda: not alive(child), "the worker to die", [server], 10)


def test_inline_and_off_start_no_child(live_server_factory: Any) -> None:
    """``FEDI_RUN_WORKERS=inline`` runs the loops in the server, ``off`` nowhere: no child."""
    for mode in ("inline", "off"):
        server = live_server_factory(FEDI_RUN_WORKERS=mode)
        time.sleep(1.0)
        assert children_of(server.process.pid) == [], mode
        server.stop()


def _niceness(pid: int) -> int:
    """The nice value of ``pid`` (field 19 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def test_worker_child_runs_at_the_configured_niceness(live_server_factory: Any) -> None:
    """``FEDI_WORKER_NICE`` lowers the child's priority, never the server's own."""
    server = live_server_factory(FEDI_WORKER_NICE="7")
    child = worker_of(server)
    assert _niceness(child) == _niceness(server.process.pid) + 7
    server.stop()
