"""``FEDI_WEB_PROCESSES``: ``fedi serve`` answers on one port from several processes.

Real processes, found in ``/proc`` as an operator would: the serving children share the
port (each request's log line names the process that answered it), one that dies is started
again, and none outlives the server, stopped or killed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from live_helpers import alive, wait_for

from bench.instance import children_of, command_of, free_port, is_serving
from fedi.settings import AUTO_WEB_PROCESSES_MAX, Settings, SettingsError
from tests.conftest import LiveServer

pytestmark = pytest.mark.live


def web_children(server: Any, count: int) -> list[int]:
    """The pids of the server's serving children, once there are ``count`` of them."""

    def serving() -> list[int] | None:
        found = [pid for pid in children_of(server.process.pid)
                 if is_serving(command_of(pid) or [])]
        return found if len(found) == count else None

    return list(wait_for(serving, f"{count} serving children", [server], 20))


def answering_pids(server: Any, requests: int) -> set[int]:
    """The processes that answered ``requests`` GETs, each on a new connection (from the
    JSON request log)."""
    for _ in range(requests):
        # A client per request: a new connection each time, which the kernel may hand to
        # any of the processes.
        with httpx.Client(base_url=server.base_url) as client:
            assert client.get("/healthz").status_code == 200
    pids = set()
    for line in server.log().splitlines():
        if line.startswith("{"):
            record = orjson.loads(line)
            if record.get("logger") == "fedi.request" and record.get("path") == "/healthz":
                pids.add(int(record["pid"]))
    return pids


def test_three_processes_share_the_port_and_a_dead_one_comes_back(
    live_server_factory: Any,
) -> None:
    server = live_server_factory(FEDI_WEB_PROCESSES="3", FEDI_LOG_FORMAT="json")
    web = web_children(server, 2)
    # The worker child stays one.
    assert len(children_of(server.process.pid)) == 3
    # Each child answers once it has started (a second or two after it appears). Twenty
    # connections a round: the chance that a started process of three gets none is
    # 3 x (2/3)^20, and the rounds go on until every one has answered.
    everyone = {server.process.pid, *web}
    wait_for(lambda: answering_pids(server, 20) == everyone, "every process to answer",
             [server], 30)

    os.kill(web[0], signal.SIGKILL)
    again = wait_for(
        lambda: [p for p in web_children(server, 2) if p not in web] or None,
        "a new serving child", [server], 20,
    )
    assert len(again) == 1
    assert "web 2 process exited" in server.log() or "web 3 process exited" in server.log()
    server.stop()
    assert server.process.returncode in (0, -signal.SIGTERM)
    for pid in [web[1], *again]:
        wait_for(lambda pid=pid: not alive(pid), "the serving children to stop", [server], 10)
    assert "Traceback" not in server.log()


def test_serving_children_die_with_a_killed_server(live_server_factory: Any) -> None:
    """A server killed outright leaves neither its worker nor its serving children."""
    server = live_server_factory(FEDI_WEB_PROCESSES="2")
    web = web_children(server, 1)
    everyone = children_of(server.process.pid)
    assert set(web) < set(everyone)
    server.kill()
    for pid in everyone:
        wait_for(lambda pid=pid: not alive(pid), "the children to die", [server], 10)


def test_the_children_serve_where_the_command_line_says(
    live_server_factory: Any, tmp_path: Path
) -> None:
    """``fedi serve --bind`` overrides ``FEDI_BIND`` for the serving children too."""
    template = live_server_factory(FEDI_WEB_PROCESSES="2", FEDI_LOG_FORMAT="json")
    template.stop()
    port, elsewhere = free_port(), free_port()
    data_dir = tmp_path / "bound"
    data_dir.mkdir()
    env = {**template.env, "FEDI_DATA_DIR": str(data_dir),
           "FEDI_BASE_URL": f"http://localhost:{port}", "FEDI_BIND": f"127.0.0.1:{elsewhere}"}
    server = LiveServer(port, data_dir, env, tmp_path / "bound.log",
                        args=["--bind", f"127.0.0.1:{port}"])
    server.start()
    try:
        web = web_children(server, 1)
        wait_for(lambda: answering_pids(server, 20) == {server.process.pid, *web},
                 "both processes to answer", [server], 30)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{elsewhere}/healthz")
    finally:
        server.stop()


def test_web_processes_setting() -> None:
    """A number from 1 to 64 or ``auto`` (one per core, capped); anything else is refused
    at start-up with the variable named."""
    base = {"FEDI_SECRET_KEY": "x"}
    assert Settings.from_env(base).web_processes == 1
    assert Settings.from_env({**base, "FEDI_WEB_PROCESSES": "4"}).web_processes == 4
    auto = Settings.from_env({**base, "FEDI_WEB_PROCESSES": "auto"}).web_processes
    assert auto == max(1, min(os.cpu_count() or 1, AUTO_WEB_PROCESSES_MAX))
    for wrong in ("0", "65", "many"):
        with pytest.raises(SettingsError, match="FEDI_WEB_PROCESSES"):
            Settings.from_env({**base, "FEDI_WEB_PROCESSES": wrong})
