"""Claims: leases, expiry after a crash, and PostgreSQL's SKIP LOCKED between workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from harness import add_follow, add_local_person, add_remote_actor, make_app, note_activity
from routing import RoutingTransport
from sqlalchemy import select, update

from fedi.federation.outgoing.publish import publish
from fedi.state import FediApp
from fedi.workers.claims import claim_due
from models import Delivery, utcnow


async def queued_app(tmp_path: Path, db_target: Any, rows: int) -> tuple[FediApp, RoutingTransport]:
    router = RoutingTransport()
    app = await make_app(
        tmp_path, 8001, router, database_url=db_target.url, database_schema=db_target.schema
    )
    await app.startup()
    async with app.state.db.session() as db:
        alice = await add_local_person(db, app.state.settings, "alice")
        for n in range(rows):
            actor = await add_remote_actor(db, f"f{n}", f"http://r{n}.example/inbox")
            await add_follow(db, actor, alice)
        await publish(db, app.state.settings, alice, note_activity(app.state.settings, alice))
    return app, router


async def test_live_lease_blocks_and_expired_lease_frees(tmp_path: Path, db_target: Any) -> None:
    app, router = await queued_app(tmp_path, db_target, 5)
    try:
        now = utcnow()
        async with app.state.db.session() as db:
            first = await claim_due(db, Delivery, now=now, limit=3)
        async with app.state.db.session() as db:
            second = await claim_due(db, Delivery, now=now, limit=10)
        assert len(first) == 3 and len(second) == 2
        assert not set(first) & set(second)
        async with app.state.db.session() as db:
            assert await claim_due(db, Delivery, now=now, limit=10) == []
        # A killed worker's leases run out; the rows are claimable again, none was lost.
        later = now + timedelta(minutes=3)
        async with app.state.db.session() as db:
            again = await claim_due(db, Delivery, now=later, limit=10)
        assert sorted(again) == sorted(first + second)
    finally:
        await app.shutdown()
        await router.close()


async def test_postgres_skip_locked_between_open_transactions(
    tmp_path: Path, db_target: Any
) -> None:
    if db_target.kind != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    app, router = await queued_app(tmp_path, db_target, 40)
    try:
        now = utcnow()
        # Worker 1 holds its row locks (transaction still open) while worker 2 claims.
        async with app.state.db.sessions() as db1, app.state.db.sessions() as db2:
            ids1 = await claim_due(db1, Delivery, now=now, limit=15)
            ids2 = await asyncio.wait_for(claim_due(db2, Delivery, now=now, limit=15), 5)
            assert len(ids1) == 15 and len(ids2) == 15
            assert not set(ids1) & set(ids2)
            await db1.commit()
            await db2.commit()
        async with app.state.db.session() as db:
            leased = await db.scalar(
                select(Delivery.id).where(Delivery.claimed_until.is_(None)).limit(1)
            )
            assert leased is not None  # 10 rows left unclaimed
    finally:
        await app.shutdown()
        await router.close()


async def test_many_concurrent_claimers_partition_the_queue(
    tmp_path: Path, db_target: Any
) -> None:
    app, router = await queued_app(tmp_path, db_target, 100)
    try:
        async with app.state.db.session() as db:
            await db.execute(update(Delivery).values(next_try_at=utcnow() - timedelta(seconds=1)))

        async def claimer() -> list[int]:
            got: list[int] = []
            while True:
                async with app.state.db.session() as db:
                    ids = await claim_due(db, Delivery, now=utcnow(), limit=7)
                if not ids:
                    return got
                got.extend(ids)

        results = await asyncio.gather(*(claimer() for _ in range(5)))
        flat = [i for ids in results for i in ids]
        assert len(flat) == 100 and len(set(flat)) == 100
    finally:
        await app.shutdown()
        await router.close()
