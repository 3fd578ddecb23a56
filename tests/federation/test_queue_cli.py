"""``fedi queue status`` / ``fedi queue retry`` and ``fedi worker --once`` on a real database."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from harness import add_follow, add_local_person, add_remote_actor, note_activity
from sinks import Sink
from sqlalchemy import select, update

from fedi.cli import cli
from fedi.db import Database
from fedi.federation.outgoing.publish import publish
from fedi.settings import Settings
from models import Delivery, DomainHealth, utcnow


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "FEDI_BASE_URL": "http://localhost:8001",
        "FEDI_DATA_DIR": str(tmp_path / "data"),
        "FEDI_SECRET_KEY": "queue-cli-test",
        "FEDI_ALLOW_PRIVATE_NETWORK": "1",
    }


async def seed(settings: Settings, sink_url: str | None = None) -> None:
    """Queue deliveries to two domains; pause one of them; fail and give up some rows."""
    db = Database(settings.database_url)
    await db.upgrade()
    try:
        async with db.session() as session:
            alice = await add_local_person(session, settings, "alice")
            for n in range(3):
                actor = await add_remote_actor(session, f"a{n}", f"http://a.example/u{n}/inbox")
                await add_follow(session, actor, alice)
            for n in range(2):
                inbox = (sink_url or "http://b.example") + f"/u{n}/inbox"
                actor = await add_remote_actor(session, f"b{n}", inbox)
                await add_follow(session, actor, alice)
            await publish(session, settings, alice, note_activity(settings, alice))
        async with db.session() as session:
            later = utcnow() + timedelta(hours=1)
            await session.execute(
                update(Delivery).where(Delivery.domain == "a.example").values(next_try_at=later)
            )
            first = await session.scalar(
                select(Delivery.id).where(Delivery.domain == "a.example").limit(1)
            )
            await session.execute(
                update(Delivery).where(Delivery.id == first).values(state="gave_up")
            )
            session.add(
                DomainHealth(
                    domain="a.example", consecutive_failures=4, pause_level=1,
                    paused_until=utcnow() + timedelta(minutes=10),
                )
            )
    finally:
        await db.dispose()


async def rows(settings: Settings) -> list[Delivery]:
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    finally:
        await db.dispose()


def test_queue_status_and_retry(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    settings = Settings.from_env(env)
    asyncio.run(seed(settings))
    runner = CliRunner()

    status = runner.invoke(cli, ["queue", "status"], env=env)
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == (
        "deliveries: pending 4 (due now 2, waiting 2), delivered 0, failed 0, gave up 1, gone 0"
    )
    assert lines[1] == "inbox: pending 0, done 0, ignored 0, failed 0"
    table = [line.split() for line in lines[3:]]
    assert table[0] == ["domain", "pending", "failed", "gave_up", "failures", "paused_until"]
    assert table[1][:5] == ["a.example", "2", "0", "1", "4"]
    assert table[1][5] != "-"  # paused: the date and time are shown
    assert table[2] == ["b.example", "2", "0", "0", "0", "-"]

    retry = runner.invoke(cli, ["queue", "retry", "--domain", "a.example"], env=env)
    assert retry.exit_code == 0, retry.output
    assert retry.output.strip() == "2 deliveries for a.example due now; 1 domain(s) unpaused"
    after = runner.invoke(cli, ["queue", "status"], env=env)
    assert "pending 4 (due now 4, waiting 0)" in after.output
    assert "a.example  2        0       1        0         -" in after.output
    # The given-up row stays given up: retry only moves waiting rows.
    assert sorted(r.state for r in asyncio.run(rows(settings))).count("gave_up") == 1


def test_worker_once_drains_the_queue(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    settings = Settings.from_env(env)

    async def scenario() -> tuple[int, list[str]]:
        sink = await Sink().start()
        try:
            await seed(settings, sink.url(""))
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "fedi"), "worker", "--once",
                env={**os.environ, **env},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, out.decode()
            return len(sink.requests), out.decode().splitlines()
        finally:
            await sink.close()

    sent, output = asyncio.run(scenario())
    assert sent == 2  # b.example's two inboxes on the sink; a.example is paused and waiting
    assert output[-1] == "processed 2 item(s)"
    by_domain = {(r.domain, r.state) for r in asyncio.run(rows(settings))}
    assert ("a.example", "delivered") not in by_domain
    assert {state for domain, state in by_domain if domain != "a.example"} == {"delivered"}
