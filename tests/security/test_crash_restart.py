"""SIGKILL during inbox processing and during fan-out: every message applied exactly once.

tests/federation/test_kill_restart.py kills a sender mid fan-out to loopback sinks and
proves that nothing is lost (at least once, with bounded repeats). This test goes on from
there to the receiver: two real ``fedi serve`` instances, alice on A sends bob on B a burst
of private messages through her C2S outbox. B is killed while its inbox worker is busy (some
items done, some still pending), then A while its deliveries to the dead B wait for a
retry; both are restarted and A's queue is made due. A message whose delivery was answered
but not yet recorded is sent again, and an item whose transaction died with B is processed
again: bob must still end with each message once and exactly one notification per message
(notifications have no unique key, so a second application would show), and no inbox item
or delivery may end failed.
"""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from live_helpers import outbox_post, person_with_token, wait_for

pytestmark = pytest.mark.live

MESSAGES = 60
# Poll often: B must be caught (and killed) while its inbox worker is half-way.
POLL = 0.02


def query(server: Any, sql: str) -> list[tuple[Any, ...]]:
    """Read the live instance's SQLite database (WAL: readers never block it)."""
    connection = sqlite3.connect(f"file:{server.data_dir / 'fedi.sqlite3'}?mode=ro", uri=True)
    try:
        connection.execute("PRAGMA busy_timeout = 5000")
        return list(connection.execute(sql))
    finally:
        connection.close()


def scalar(server: Any, sql: str) -> int:
    """The single number ``sql`` selects."""
    return int(query(server, sql)[0][0] or 0)


def test_killed_receiver_and_sender_apply_each_message_once(live_server_factory: Any) -> None:
    a = live_server_factory(FEDI_WORKER_LEASE_SECONDS="2")
    b = live_server_factory(FEDI_WORKER_LEASE_SECONDS="2")
    servers = [a, b]
    token = person_with_token(a, "alice")
    person_with_token(b, "bob")
    bob = f"{b.base_url}/users/bob"

    def send_all() -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(MESSAGES):
                response = outbox_post(client, a, "alice", token, {
                    "type": "Note", "content": f"message number {n}", "to": [bob],
                })
                assert response.status_code == 201, response.text

    # B: killed while its inbox worker has finished some items and not others (the
    # messages are still being sent meanwhile).
    since: list[float] = []

    def busy() -> bool:
        done = scalar(b, "SELECT count(*) FROM inbox_items WHERE state = 'done'")
        pending = scalar(b, "SELECT count(*) FROM inbox_items WHERE state = 'pending'")
        if done >= 5 and not since:
            since.append(time.monotonic())
        # Best with items waiting; a fast machine may never show one, so not for long.
        return bool(since) and (pending >= 1 or time.monotonic() - since[0] > 2)

    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(send_all)
        wait_for(busy, "B to be busy with its inbox", servers, 60, POLL)
        b.kill()
        sending.result()
    done_at_kill = scalar(b, "SELECT count(*) FROM inbox_items WHERE state = 'done'")

    # A: killed while some deliveries to B are still waiting.
    def waiting() -> bool:
        return scalar(a, "SELECT count(*) FROM deliveries WHERE state != 'delivered'") >= 1

    wait_for(waiting, "A to have deliveries waiting for B", servers, 30, POLL)
    a.kill()
    undelivered = scalar(a, "SELECT count(*) FROM deliveries WHERE state != 'delivered'")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda server: server.start(), (a, b)))
    a.cli("queue", "retry")

    def all_arrived() -> bool:
        return scalar(
            b, "SELECT count(*) FROM inbox_items WHERE state = 'done' AND type = 'Create'"
        ) >= MESSAGES

    wait_for(all_arrived, "every message to be applied at B", servers, 90, POLL)
    wait_for(
        lambda: scalar(a, "SELECT count(*) FROM deliveries WHERE state != 'delivered'") == 0,
        "A to record every delivery", servers, 30, POLL,
    )
    time.sleep(2.5)  # one lease: a stale claim would have been processed again by now

    notes = query(
        b, "SELECT count(*), count(DISTINCT ap_id) FROM objects WHERE local = 0 "
        "AND content_html LIKE '%message number%'",
    )[0]
    notifications = scalar(
        b, "SELECT count(*) FROM notifications n JOIN actors p ON p.id = n.recipient_id "
        "WHERE p.username = 'bob' AND p.local = 1 AND n.kind = 'mention'",
    )
    bad_items = query(b, "SELECT ap_id, state, error FROM inbox_items WHERE state != 'done'")
    bad_deliveries = scalar(a, "SELECT count(*) FROM deliveries WHERE state = 'failed'")
    print(
        f"\ncrash test: {done_at_kill} of {MESSAGES} applied when B was killed, "
        f"{undelivered} deliveries waiting when A was killed"
    )
    assert done_at_kill < MESSAGES, "B was killed too late to prove anything"
    assert notes == (MESSAGES, MESSAGES)
    assert notifications == MESSAGES
    assert not bad_items, bad_items
    assert bad_deliveries == 0
    assert "Traceback" not in b.log(), b.log()[-3000:]
