"""The PostgreSQL bridge of the live hub: payloads, channel names, and a lost connection."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from fedi.live.hub import LiveMessage, hub_of, queue
from fedi.live.pg_bridge import (
    MAX_PAYLOAD,
    PgBridge,
    asyncpg_dsn,
    channel_name,
    decode,
    encode,
)


def test_payloads_stay_under_the_limit_and_bad_ones_are_ignored() -> None:
    small = LiveMessage("initiative:3", "task", {"task_id": 9})
    assert decode(encode(small)) == small
    huge = LiveMessage("initiative:3", "comment", {"text": "x" * 20_000})
    payload = encode(huge)
    assert len(payload.encode()) <= MAX_PAYLOAD
    assert decode(payload) == LiveMessage("initiative:3", "comment", {})
    for bad in ("", "nonsense", "[]", '{"t": 1, "k": "x", "d": {}}', '{"t": "a", "k": "b"}'):
        assert decode(bad) is None


def test_channels_and_dsn() -> None:
    assert channel_name("t_abc") != channel_name("t_abd")
    assert channel_name(None) == channel_name("public")
    assert len(channel_name("x" * 60)) < 63
    assert asyncpg_dsn("postgresql+asyncpg://postgres:pw@127.0.0.1:5432/test") == (
        "postgresql://postgres:pw@127.0.0.1:5432/test"
    )


async def test_the_bridge_comes_back_after_losing_its_connection(app: Any) -> None:
    if app.state.db.is_sqlite:
        pytest.skip("the bridge is for PostgreSQL")
    hub = hub_of(app.state)
    bridge = hub.bridge
    assert isinstance(bridge, PgBridge) and bridge.connected
    old_pid = bridge._conn.get_server_pid()
    killer = await asyncpg.connect(asyncpg_dsn(app.state.settings.database_url))
    try:
        await killer.execute("SELECT pg_terminate_backend($1)", old_pid)
    finally:
        await killer.close()
    for _ in range(200):  # bounded: the bridge retries after half a second
        if bridge.connected and bridge._conn is not None \
                and bridge._conn.get_server_pid() != old_pid:
            break
        await asyncio.sleep(0.05)
    assert bridge.connected
    async with hub.subscribe(["public"]) as sub:
        async with app.state.db.session() as db:
            queue(db, LiveMessage("public", "status", {"n": 1}))
        message = await sub.get(within=10)
    assert message == LiveMessage("public", "status", {"n": 1})
