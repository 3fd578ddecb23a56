"""``/metrics``: off unless configured, behind its token or addresses, and figures that move.

Requests are counted by the serving process; the inbox and delivery figures are counted
from their rows (the worker is usually another process), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fedi.app import create_app
from fedi.http.ops.metrics import METRICS
from fedi.http.ops.queues import OTHER_DOMAINS, read_snapshot
from fedi.settings import Settings
from fedi.state import FediApp
from models import utcnow
from tests.ops.ops_helpers import AUTH, METRICS_TOKEN, add_deliveries, add_inbox_item, scrape


async def _status(
    app: FediApp, headers: dict[str, str] | None = None, client: str = "127.0.0.1"
) -> int:
    response = await app.test_client().get(
        "/metrics", headers=headers or {}, scope_base={"client": (client, 50000)}
    )
    return int(response.status_code)


async def test_metrics_are_off_unless_configured(settings: Settings) -> None:
    app = create_app(settings)
    await app.state.db.upgrade()
    async with app.test_app():
        assert await _status(app) == 404
        assert await _status(app, AUTH) == 404


async def test_metrics_need_the_bearer_token(ops_app: FediApp) -> None:
    assert await _status(ops_app) == 401
    assert await _status(ops_app, {"Authorization": "Bearer wrong-token-0123456789"}) == 401
    assert await _status(ops_app, {"Authorization": METRICS_TOKEN}) == 401
    response = await ops_app.test_client().get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")


async def test_metrics_only_from_allowed_addresses(settings: Settings) -> None:
    app = create_app(settings.with_changes(metrics_allow=("10.0.0.0/8", "::1/128")))
    await app.state.db.upgrade()
    async with app.test_app():
        # No token is configured here: the address alone decides.
        assert await _status(app, client="10.1.2.3") == 200
        assert await _status(app, client="::ffff:10.1.2.3") == 200
        assert await _status(app, client="::1") == 200
        assert await _status(app, client="127.0.0.1") == 404
        assert await _status(app, client="192.168.1.1") == 404


async def test_requests_are_counted_by_route_and_status(ops_app: FediApp) -> None:
    client = ops_app.test_client()
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    missing_page = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert missing_page.status_code == 404
    figures = await scrape(client)
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert figures[("fedi_http_requests_total", healthz)] == 3
    missing = (("method", "GET"), ("route", "(unmatched)"), ("status", "404"))
    assert figures[("fedi_http_requests_total", missing)] == 1
    count = ("fedi_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz")))
    assert figures[count] == 3
    # The process's own figures come along.
    assert figures[("process_resident_memory_bytes", ())] > 0


async def test_queue_figures_come_from_the_rows(ops_app: FediApp) -> None:
    now = utcnow()
    await add_inbox_item(ops_app, 1, "done", now)
    await add_inbox_item(ops_app, 2, "ignored", now)
    await add_inbox_item(ops_app, 3, "pending", now - timedelta(minutes=5))
    await add_inbox_item(ops_app, 4, "pending", now + timedelta(hours=1))
    await add_deliveries(ops_app, [
        ("a.example", "delivered"), ("a.example", "delivered"), ("b.example", "gave_up"),
        ("c.example", "pending"),
    ])
    client = ops_app.test_client()
    figures = await scrape(client)
    assert figures[("fedi_inbox_accepted_total", ())] == 4
    assert figures[("fedi_inbox_processed_total", (("outcome", "done"),))] == 1
    assert figures[("fedi_inbox_processed_total", (("outcome", "ignored"),))] == 1
    assert figures[("fedi_inbox_processed_total", (("outcome", "failed"),))] == 0
    assert figures[("fedi_inbox_pending", ())] == 2
    assert figures[("fedi_inbox_due", ())] == 1
    assert 290 < figures[("fedi_inbox_oldest_due_age_seconds", ())] < 400
    assert figures[("fedi_deliveries_queued_total", ())] == 4
    assert figures[("fedi_deliveries_finished_total", (("outcome", "delivered"),))] == 2
    assert figures[("fedi_deliveries_finished_total", (("outcome", "gave_up"),))] == 1
    assert figures[("fedi_delivery_pending", ())] == 1
    by_domain = (("domain", "a.example"), ("state", "delivered"))
    assert figures[("fedi_deliveries_by_domain", by_domain)] == 2

    # The rows are read again once the snapshot is older than SNAPSHOT_SECONDS.
    await add_inbox_item(ops_app, 5, "failed", now)
    metrics = ops_app.state.get(METRICS)
    assert metrics is not None
    assert (await scrape(client))[("fedi_inbox_accepted_total", ())] == 4
    metrics.queues.read_at = 0.0
    again = await scrape(client)
    assert again[("fedi_inbox_accepted_total", ())] == 5
    assert again[("fedi_inbox_processed_total", (("outcome", "failed"),))] == 1


async def test_only_the_busiest_domains_get_a_label(ops_app: FediApp) -> None:
    rows = [("big.example", "delivered")] * 3 + [("mid.example", "pending")] * 2
    rows += [("one.example", "delivered"), ("two.example", "failed")]
    await add_deliveries(ops_app, rows)
    async with ops_app.state.db.session() as db:
        snapshot = await read_snapshot(db, utcnow(), top=2)
    assert snapshot.by_domain == [
        (OTHER_DOMAINS, "delivered", 1), (OTHER_DOMAINS, "failed", 1),
        ("big.example", "delivered", 3), ("mid.example", "pending", 2),
    ]


async def test_every_response_carries_a_request_id(ops_app: FediApp) -> None:
    client: Any = ops_app.test_client()
    first = (await client.get("/healthz")).headers["X-Request-Id"]
    second = (await client.get("/healthz")).headers["X-Request-Id"]
    assert first and second and first != second
    # A caller's own id is kept when it is a sane token, replaced when it is not.
    kept = await client.get("/healthz", headers={"X-Request-Id": "lb-1234abcd"})
    assert kept.headers["X-Request-Id"] == "lb-1234abcd"
    odd = await client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["X-Request-Id"] != "<script>"
