"""Operations on real ``fedi serve`` processes, as an operator runs them.

Two instances with JSON logs and ``/metrics`` on: alice follows bob across them. The
figures that the worker child process produces (inbox processed, deliveries delivered) show
on each server's ``/metrics``; the inbox POST is one JSON log line naming the sending server.
A server without workers reports itself unready once a due inbox item waits too long, and
ready again after a ``fedi worker --once``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from live_helpers import AS, alice_and_bob, collection_items, outbox_post, wait_for

from fedi.db import Database
from models import InboxItem, utcnow
from tests.ops.ops_helpers import AUTH, METRICS_TOKEN, samples

pytestmark = pytest.mark.live

OPS_ENV = {"FEDI_LOG_FORMAT": "json", "FEDI_METRICS_TOKEN": METRICS_TOKEN}


def json_lines(server: Any) -> list[dict[str, Any]]:
    """The server's log lines that are JSON objects (click's start-up notes are not)."""
    return [orjson.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def figure(server: Any, name: str, **labels: str) -> float:
    """One sample of the server's ``/metrics`` (0 when it is not there yet)."""
    response = httpx.get(f"{server.base_url}/metrics", headers=AUTH, timeout=10)
    response.raise_for_status()
    return samples(response.text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_and_json_logs_across_two_live_instances(live_server_factory: Any) -> None:
    one, two, token, _ = alice_and_bob(live_server_factory, **OPS_ENV)
    servers = [one, two]
    assert httpx.get(f"{one.base_url}/metrics", timeout=10).status_code == 401
    with httpx.Client(timeout=10) as client:
        follow = outbox_post(client, one, "alice", token,
                             {"@context": AS, "type": "Follow", "object": f"bob@{two.host}"})
        assert follow.status_code == 201, follow.text
        alice_id = f"{one.base_url}/users/alice"
        wait_for(lambda: collection_items(client, f"{two.base_url}/users/bob/followers")
                 == [alice_id], "bob's followers to list alice", servers)

    # Processed by two's worker child, delivered by one's: both read from the rows.
    wait_for(lambda: figure(two, "fedi_inbox_processed_total", outcome="done") >= 1,
             "two's inbox figures to show the processed Follow", servers)
    wait_for(lambda: figure(one, "fedi_deliveries_finished_total", outcome="delivered") >= 1,
             "one's delivery figures to show the delivered Follow", servers)
    assert figure(one, "fedi_deliveries_by_domain", domain=two.host, state="delivered") >= 1 or (
        figure(one, "fedi_deliveries_by_domain", domain="localhost", state="delivered") >= 1
    )
    assert figure(two, "fedi_inbox_accepted_total") >= 1
    # Follows go to the shared inbox bob's actor advertises.
    inbox_posts = figure(two, "fedi_http_requests_total", method="POST", route="/inbox",
                         status="202")
    assert inbox_posts >= 1
    assert figure(two, "fedi_http_request_duration_seconds_count", method="POST",
                  route="/inbox") == inbox_posts

    # Every line is one JSON object, but for the start-up notes the commands print.
    for server in servers:
        for line in filter(str.strip, server.log().splitlines()):
            if line.startswith("{"):
                assert isinstance(orjson.loads(line), dict)
            else:
                assert line.startswith(("serving ", "worker running for ")), line
    records = json_lines(two)
    posts = [r for r in records if r.get("logger") == "fedi.request"
             and r.get("path") == "/inbox" and r.get("method") == "POST"]
    assert posts, records[-20:]
    assert posts[0]["remote_server"] == one.host
    assert posts[0]["status"] == 202 and len(posts[0]["request_id"]) >= 8
    # Lines of the server's other loggers (its supervision of the worker child) are JSON too.
    assert any(r.get("logger") == "fedi.cli.worker_child" for r in records)
    assert "Traceback" not in two.log() and "Traceback" not in one.log()


async def _add_stuck_item(data_dir: Path, age: timedelta) -> None:
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'fedi.sqlite3'}")
    try:
        async with db.session() as session:
            # From an actor nothing answers for, so the worker gives it a later try.
            session.add(InboxItem(
                ap_id="http://127.0.0.1:9/activities/stuck", type="Like",
                actor_ap_id="http://127.0.0.1:9/users/nobody",
                payload={"@context": AS, "id": "http://127.0.0.1:9/activities/stuck",
                         "type": "Like", "actor": "http://127.0.0.1:9/users/nobody",
                         "object": "http://127.0.0.1:9/notes/1"},
                next_try_at=utcnow() - age,
            ))
    finally:
        await db.dispose()


def test_readyz_reports_a_stuck_queue_on_a_live_server(live_server_factory: Any) -> None:
    server = live_server_factory(FEDI_RUN_WORKERS="off", FEDI_READY_MAX_QUEUE_AGE_SECONDS="60")
    ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    asyncio.run(_add_stuck_item(server.data_dir, timedelta(minutes=5)))
    stuck = httpx.get(f"{server.base_url}/readyz", timeout=10)
    assert stuck.status_code == 503
    assert stuck.json()["failed"] == ["queues"]
    assert stuck.json()["checks"]["queues"]["stuck"] == ["inbox"]
    # Still alive: a supervisor must not restart it for this.
    assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
    # A worker takes the item (and schedules its retry): ready again.
    server.cli("worker", "--once")
    wait_for(lambda: httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200,
             "readyz to recover after the worker ran", [server])
