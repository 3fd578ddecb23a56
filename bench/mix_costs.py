"""What each kind of the inbox mix costs the worker: CPU milliseconds and SQL statements.

The ``inbox_default`` scenario measures the mix as a whole; this one explains its figure.
For each kind of activity of the mix (``bench.mix``: a note from a known actor, a note from
a never-seen actor, a reply whose parent is on another server, a mention of the local tribe
by a non-member, a like of a local note, a follow of a local person), ``count`` signed
activities are POSTed to a ``fedi serve`` that runs no workers (``FEDI_RUN_WORKERS=off``), so
only the accept path runs there. Then this process builds the same app as ``fedi worker``
and drains the inbox, then the deliveries the handlers queued, measuring its own CPU time
(``time.process_time``) and counting the statements each phase ran. The remote servers are
``bench.remotes`` (loopback, one process).

``python -m bench.mix_costs [--count N] [--kinds note,reply] [--statements]`` prints one line
per kind (and with ``--statements`` the statements it ran, most frequent first); ``make
bench`` runs it as the ``mix_costs`` scenario.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import event, func, select

from bench import mix, seed
from bench.default_inbox import sign_all
from bench.instance import FEDI_BIN, Instance, run_async
from bench.scenarios import finish_loadgen, start_loadgen
from fedi.settings import Settings

KINDS = ("note", "note_unknown", "reply", "tribe_mention", "like", "follow")


async def _drain(settings: Settings, statements: Counter[str] | None) -> dict[str, Any]:
    """Drain the inbox, then the deliveries, in this process; what each phase cost."""
    from fedi.app import create_app
    from fedi.workers.runner import WorkerRunner
    from models import InboxItem

    app = create_app(settings.with_changes(run_workers=False))
    await app.startup()
    try:
        runner = WorkerRunner(app.state)
        count = [0]

        def on_statement(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            count[0] += 1
            if statements is not None:
                statements[" ".join(statement.split())[:160]] += 1

        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", on_statement)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        handled = 0
        while done := await runner.inbox.run_once(limit=50):
            handled += done
        cpu1, wall1, statements1 = time.process_time(), time.perf_counter(), count[0]
        delivered = 0
        while done := await runner.delivery.run_once():
            delivered += done
        cpu2, statements2 = time.process_time(), count[0]
        event.remove(engine, "before_cursor_execute", on_statement)
        async with app.state.db.session() as db:
            states = dict((await db.execute(
                select(InboxItem.state, func.count()).group_by(InboxItem.state)
            )).all())
        return {
            "handled": handled, "inbox_cpu_s": cpu1 - cpu0, "inbox_wall_s": wall1 - wall0,
            "inbox_statements": statements1, "deliveries": delivered,
            "delivery_cpu_s": cpu2 - cpu1, "delivery_statements": statements2 - statements1,
            "states": states,
        }
    finally:
        await app.shutdown()


def _activities(
    kind: str, count: int, world: mix.MixWorld, fast: list[int], unknown: Any,
    rng: random.Random,
) -> list[tuple[str, str, bytes]]:
    """``count`` activities of ``kind`` (key id, key index, body); replies share a third as
    many parents, as in the mix."""
    items = []
    for index in range(count):
        serial = f"{kind}-{index}"
        parent = None
        if kind == "note_unknown":
            who = next(unknown)
            body = mix.activity("note", who, serial, world, rng)
        else:
            who = rng.choice(world.known)
            if kind == "reply":
                number = rng.randrange(max(1, count // 3))
                port = fast[number % len(fast)]
                parent = f"http://127.0.0.1:{port}/notes/pa{number}-k0/m{number}"
            body = mix.activity(kind, who, serial, world, rng, parent)
        items.append((who.key_id, str(who.key), orjson.dumps(body)))
    return items


def measure(
    root: Path, *, server: str, count: int = 300, kinds: tuple[str, ...] = KINDS,
    domains: int = 20, statements: bool = False,
) -> dict[str, Any]:
    """Per kind: CPU ms and statements per activity, in the worker and for its deliveries."""
    pairs = seed.keypairs()
    remotes = mix.start_remotes(pairs, domains)
    instance = Instance(root, db="sqlite", server=server)
    out: dict[str, Any] = {"count": count, "domains": domains, "kinds": {}}
    try:
        world = run_async(mix.seed_world(
            instance.settings(), remotes, known=count * 2,
            unknown=count * max(1, kinds.count("note_unknown")),
        ))
        env = dict(instance.env)
        env["FEDI_RUN_WORKERS"] = "off"  # the accept path alone; this process is the worker
        instance.serve = subprocess.Popen(
            [str(FEDI_BIN), "serve"], env=env, stdout=(root / "serve.log").open("ab"),
            stderr=subprocess.STDOUT, cwd=str(instance.data_dir),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{instance.port}/healthz"
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        rng = random.Random(5)
        unknown = iter(world.unknown)
        for kind in kinds:
            items = _activities(kind, count, world, remotes.fast, unknown, rng)
            before = remotes.stats()
            accepted = finish_loadgen(start_loadgen(
                instance.port, sign_all(instance.host, pairs, items), 16, None
            ))["statuses"]
            seen: Counter[str] | None = Counter() if statements else None
            cost = run_async(_drain(instance.settings(), seen))
            after = remotes.stats()
            gets = sum(v for k, v in after.items() if k.endswith("get")) - sum(
                v for k, v in before.items() if k.endswith("get"))
            row = {
                "accepted": accepted.get("202", 0),
                "handled": cost["handled"],
                "worker_cpu_ms": round(1000 * cost["inbox_cpu_s"] / count, 2),
                "statements": round(cost["inbox_statements"] / count, 1),
                "remote_gets": round(gets / count, 2),
                "deliveries": round(cost["deliveries"] / count, 2),
                "delivery_cpu_ms": round(1000 * cost["delivery_cpu_s"] / count, 2),
            }
            if seen is not None:
                row["top_statements"] = seen.most_common(30)
            out["kinds"][kind] = row
        shares = {**{k: v / 100 for k, v in mix.SHARES.items()}}
        shares["note"] = 1 - sum(shares.values())
        rows = out["kinds"]
        if all(k in rows for k in ("note", "note_unknown", *mix.SHARES)):
            # The mix draws its senders from the known and the never-seen actors alike.
            def per(kind: str) -> float:
                row = rows[kind]
                total = float(row["worker_cpu_ms"]) + float(row["delivery_cpu_ms"])
                if kind == "note":
                    unknown_row = rows["note_unknown"]
                    other = float(unknown_row["worker_cpu_ms"]) + float(
                        unknown_row["delivery_cpu_ms"])
                    return (total + other) / 2
                return total

            out["mix_cpu_ms"] = round(sum(share * per(k) for k, share in shares.items()), 2)
        return out
    finally:
        instance.stop()
        remotes.stop()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: one line per kind."""
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as folder:
        result = measure(Path(folder), server="uvicorn", count=args.count,
                         kinds=tuple(args.kinds.split(",")), statements=args.statements)
    for kind, row in result["kinds"].items():
        top = row.pop("top_statements", None)
        print(f"{kind:14s} " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        for statement, times in top or []:
            print(f"    {times:6d} {statement}")
    if "mix_cpu_ms" in result:
        print(f"the mix: {result['mix_cpu_ms']} ms of worker CPU per activity")


if __name__ == "__main__":
    main()
