"""Scale-out on PostgreSQL: two ``fedi serve`` and two ``fedi worker`` processes, one database.

Both servers run with ``FEDI_RUN_WORKERS=off`` (as in compose.yaml and the systemd units);
two ``fedi worker`` processes beside them do all the queue work. ``FOLLOWERS`` remote
people (on loopback sink servers, each with a personal inbox) send a signed ``Follow`` of
the local person ``star``, alternately to each server. Every Follow must be processed once:
a Follow processed twice is answered with a second ``Accept`` (as Mastodon expects, see
``fedi.federation.incoming.follows``), which the sinks would count. Then ``star`` posts
through the second server's outbox, and every follower's inbox must receive the ``Create``
exactly once. Both workers must have taken part of the work.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from activitypub.http_signatures import sign_request
from activitypub.vocab import ACTIVITY_JSON
from bench import seed
from bench.instance import FEDI_BIN, Instance, free_port, postgres_available
from fedi.domain import accounts, tokens
from models import Actor, Delivery, InboxItem
from tests.conftest import missing_service
from tests.federation.sinks import Sink

pytestmark = pytest.mark.live

FOLLOWERS = 160
SINKS = 4
AS = "https://www.w3.org/ns/activitystreams"


async def wait_until(check: Any, what: str, instance: Instance, seconds: float = 60) -> None:
    """Poll ``check`` (a coroutine function) on the test's loop, so the sinks keep serving."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{instance.log(n)[-2000:]}"
                             for n in ("serve", "serve2", "worker", "worker2"))
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        await asyncio.sleep(0.1)


def start_second_server(instance: Instance, port: int) -> subprocess.Popen[bytes]:
    """Another ``fedi serve`` of the same instance (same base URL and database)."""
    env = dict(instance.env, FEDI_RUN_WORKERS="off", FEDI_BIND=f"127.0.0.1:{port}")
    process = subprocess.Popen(
        [str(FEDI_BIN), "serve"], env=env, stdout=(instance.data_dir / "serve2.log").open("ab"),
        stderr=subprocess.STDOUT, cwd=str(instance.data_dir),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the second fedi serve exited:\n{instance.log('serve2')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the second fedi serve did not start:\n{instance.log('serve2')}")


async def seed_instance(instance: Instance, sinks: list[Sink]) -> tuple[str, list[dict]]:
    """``star`` with a bearer token, and the remote followers-to-be on the sinks."""
    settings = instance.settings()
    db = seed.database(settings)
    await db.upgrade()
    async with db.session() as session:
        await accounts.create_user(
            session, settings, username="star", email="star@example.org",
            password="scale-out-" + "x" * 12,
        )
        token = await tokens.create_token(session, "star")
    keys = seed.keypairs(1)[0]
    rows = [
        seed.remote_actor_row(
            sinks[n % len(sinks)].host, f"f{n}", keys, shared_inbox=None, scheme="http"
        )
        for n in range(FOLLOWERS)
    ]
    await seed.bulk_insert(db, Actor, rows)
    await db.dispose()
    for row in rows:
        row["private_key_pem"] = keys[0]
    return token, rows


async def send_follows(instance: Instance, second_port: int, rows: list[dict]) -> list[int]:
    """Signed Follows of ``star``, every other one to the second server; their statuses."""
    star = instance.settings().url("/users/star")
    inbox_url = instance.settings().url("/inbox")
    ports = (instance.port, second_port)
    limit = asyncio.Semaphore(16)

    async def send(client: httpx.AsyncClient, number: int, row: dict) -> int:
        body = orjson.dumps({
            "@context": AS, "id": f"{row['ap_id']}/follows/{number}", "type": "Follow",
            "actor": row["ap_id"], "object": star,
        })
        # Signed for the instance's public URL (Host: localhost:PORT), sent to either process.
        headers = {"Content-Type": ACTIVITY_JSON}
        headers.update(
            sign_request("POST", inbox_url, headers, body, row["key_id"], row["private_key_pem"])
        )
        async with limit:
            response = await client.post(
                f"http://127.0.0.1:{ports[number % 2]}/inbox", content=body, headers=headers
            )
        return response.status_code

    async with httpx.AsyncClient(timeout=30) as client:
        return list(await asyncio.gather(*(send(client, n, r) for n, r in enumerate(rows))))


def received(sinks: list[Sink], kind: str) -> dict[str, int]:
    """How many activities of ``kind`` each inbox path received."""
    counts: dict[str, int] = {}
    for sink in sinks:
        for request in sink.requests:
            if orjson.loads(request.body).get("type") == kind:
                key = f"{sink.host}{request.path}"
                counts[key] = counts.get(key, 0) + 1
    return counts


async def test_two_servers_and_two_workers_do_everything_exactly_once(tmp_path: Path) -> None:
    if not postgres_available():
        missing_service("PostgreSQL is not running on 127.0.0.1:5432")
    sinks = [await Sink().start() for _ in range(SINKS)]
    instance = Instance(tmp_path, db="postgresql", extra_env={"FEDI_TEST_CHEAP_HASHES": "1"})
    second: subprocess.Popen[bytes] | None = None
    second_port = free_port()
    try:
        token, rows = await seed_instance(instance, sinks)
        await asyncio.to_thread(instance.start, separate_worker=True, workers=2)
        second = await asyncio.to_thread(start_second_server, instance, second_port)
        workers = {name: pid for name, pid in instance.pids() if name.startswith("worker")}
        assert len(workers) == 2
        cpu_before = instance.cpu()

        statuses = await send_follows(instance, second_port, rows)
        assert statuses == [202] * FOLLOWERS
        expected = {f"{row['domain']}/users/{row['username']}/inbox" for row in rows}

        async def accepted() -> bool:
            return sum(received(sinks, "Accept").values()) >= FOLLOWERS

        await wait_until(accepted, "an Accept for every Follow", instance)

        # star posts once, through the second server's outbox.
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"http://127.0.0.1:{second_port}/users/star/outbox",
                json={"@context": AS, "type": "Create", "to": [AS + "#Public"],
                      "object": {"type": "Note", "content": "Thank you all for following"}},
                headers={"Authorization": f"Bearer {token}", "Content-Type": ACTIVITY_JSON},
            )
        assert response.status_code == 201, response.text

        async def created() -> bool:
            return sum(received(sinks, "Create").values()) >= FOLLOWERS

        await wait_until(created, "the Create at every follower", instance)
        # Time for a duplicate (a second claim of a row, a re-run item) to show up.
        await asyncio.sleep(2.0)
        cpu_after = instance.cpu()

        assert received(sinks, "Accept") == dict.fromkeys(expected, 1)
        assert received(sinks, "Create") == dict.fromkeys(expected, 1)

        db = seed.database(instance.settings())
        try:
            async with db.session() as session:
                items = (await session.execute(
                    select(InboxItem.state, InboxItem.attempts, func.count())
                    .group_by(InboxItem.state, InboxItem.attempts)
                )).all()
                deliveries = (await session.execute(
                    select(Delivery.state, Delivery.attempts, func.count())
                    .group_by(Delivery.state, Delivery.attempts)
                )).all()
        finally:
            await db.dispose()
        assert [tuple(row) for row in items] == [("done", 0, FOLLOWERS)]
        assert [tuple(row) for row in deliveries] == [("delivered", 1, 2 * FOLLOWERS)]

        used = {name: (cpu_after[name] or 0.0) - (cpu_before[name] or 0.0) for name in workers}
        print(f"\nscale-out: worker CPU seconds during the run {used}")
        for name, seconds in used.items():
            assert seconds > 0.2 * sum(used.values()), f"{name} did too little: {used}"
    finally:
        if second is not None and second.poll() is None:
            second.terminate()
            second.wait(timeout=15)
        await asyncio.to_thread(instance.stop)
        await instance.cleanup()
        for sink in sinks:
            await sink.close()
