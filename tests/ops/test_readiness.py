"""``/healthz`` and ``/readyz`` in-process: each check of readiness failing on its own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from fedi.app import create_app
from fedi.state import FediApp
from models import DomainHealth, utcnow
from tests.conftest import make_settings
from tests.ops.ops_helpers import add_deliveries, add_inbox_item


async def _ready(app: FediApp) -> tuple[int, dict[str, Any]]:
    response = await app.test_client().get("/readyz")
    return int(response.status_code), dict(await response.get_json())


async def test_healthz_and_readyz_on_a_healthy_instance(ops_app: FediApp) -> None:
    health = await ops_app.test_client().get("/healthz")
    assert health.status_code == 200 and await health.get_json() == {"status": "ok"}
    status, body = await _ready(ops_app)
    assert status == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "queues"}
    assert body["checks"]["migrations"]["current"]


async def test_an_old_due_inbox_item_makes_the_instance_unready(ops_app: FediApp) -> None:
    limit = ops_app.state.settings.ready_max_queue_age_seconds
    # Due, but only just: the workers are keeping up.
    await add_inbox_item(ops_app, 1, "pending", utcnow() - timedelta(seconds=limit / 2))
    assert (await _ready(ops_app))[0] == 200
    # Waiting for longer than the limit: stuck.
    await add_inbox_item(ops_app, 2, "pending", utcnow() - timedelta(seconds=limit + 60))
    status, body = await _ready(ops_app)
    assert status == 503
    assert body["failed"] == ["queues"]
    assert body["checks"]["queues"]["stuck"] == ["inbox"]
    assert body["checks"]["queues"]["inbox_oldest_due_seconds"] > limit


async def test_deliveries_to_a_paused_domain_do_not_count_as_stuck(ops_app: FediApp) -> None:
    old = utcnow() - timedelta(hours=2)
    await add_deliveries(ops_app, [("down.example", "pending")], next_try_at=old)
    async with ops_app.state.db.session() as db:
        db.add(DomainHealth(domain="down.example", consecutive_failures=5, pause_level=2,
                            paused_until=utcnow() + timedelta(minutes=30)))
    assert (await _ready(ops_app))[0] == 200
    async with ops_app.state.db.session() as db:
        await db.execute(text("UPDATE domain_health SET paused_until = NULL"))
    status, body = await _ready(ops_app)
    assert status == 503 and body["checks"]["queues"]["stuck"] == ["deliveries"]


async def test_a_schema_behind_the_code_is_not_ready(ops_app: FediApp) -> None:
    async with ops_app.state.db.session() as db:
        await db.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
    status, body = await _ready(ops_app)
    assert status == 503
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"]["current"] == ["0001_initial"]
    assert body["checks"]["migrations"]["expected"]


async def test_an_unreachable_database_is_not_ready_but_healthz_answers(tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback address: every connection is refused.
    settings = make_settings(tmp_path).with_changes(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:9/test"
    )
    app = create_app(settings)
    client = app.test_client()
    assert (await client.get("/healthz")).status_code == 200
    status, body = await _ready(app)
    assert status == 503
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["error"]
    await app.state.db.dispose()
