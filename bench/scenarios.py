"""The benchmark scenarios: inbox, fan-out and pages, each against real processes.

Every scenario returns a plain dict (it goes into ``results.json`` as it is). A scenario whose
feature is not built yet returns ``{"skipped": "... not available yet"}`` instead of failing,
so the suite keeps running while tribes and initiatives land.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from activitypub.http_signatures import sign_request
from activitypub.vocab import ACTIVITY_JSON
from bench import seed
from bench.instance import Instance, run_async, wait_for_port
from bench.loadgen import write_requests
from models import Delivery, InboxItem

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- load generator


def start_loadgen(
    port: int, requests: list[bytes], connections: int, duration: float | None
) -> subprocess.Popen[bytes]:
    """Start ``bench.loadgen`` in its own process (it reads the requests from a file)."""
    handle = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".req", delete=False)
    handle.close()
    write_requests(handle.name, requests)
    args = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--requests",
            handle.name, "--connections", str(connections)]
    args += ["--once"] if duration is None else ["--duration", str(duration)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=str(ROOT))
    process.request_file = handle.name  # type: ignore[attr-defined]
    return process


def finish_loadgen(process: subprocess.Popen[bytes], timeout: float = 300) -> dict[str, Any]:
    """Wait for the generator and return its result."""
    out, _ = process.communicate(timeout=timeout)
    Path(process.request_file).unlink(missing_ok=True)  # type: ignore[attr-defined]
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed ({process.returncode})")
    result: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    return result


def loadgen(
    port: int, requests: list[bytes], connections: int = 32, duration: float | None = None
) -> dict[str, Any]:
    """Run the load generator to completion."""
    return finish_loadgen(start_loadgen(port, requests, connections, duration))


def get_request(host: str, path: str, accept: str) -> bytes:
    """A raw keep-alive GET."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\n"
        "User-Agent: fedi-bench\r\n\r\n"
    ).encode("latin-1")


# ---------------------------------------------------------------- profiling


def start_profilers(instance: Instance, label: str) -> list[subprocess.Popen[bytes]]:
    """With ``FEDI_BENCH_PROFILE=DIR``, sample serve and worker with py-spy into DIR.

    Raw (collapsed) stacks, one file per process; ``python -m bench.profile FILE`` sums them.
    """
    folder = os.environ.get("FEDI_BENCH_PROFILE")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not folder or not Path(spy).exists():
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = []
    for name, process in (("serve", instance.serve), ("worker", instance.worker)):
        if process is not None:
            out.append(subprocess.Popen(
                [spy, "record", "-p", str(process.pid), "-f", "raw", "-r", "200",
                 "-o", f"{folder}/{label}-{name}.txt", "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
    time.sleep(0.5)
    return out


def stop_profilers(profilers: list[subprocess.Popen[bytes]]) -> None:
    """Stop py-spy (SIGINT makes it write its file)."""
    for spy in profilers:
        spy.send_signal(signal.SIGINT)
    for spy in profilers:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()


# ---------------------------------------------------------------- inbox


def _sign_chunk(args: tuple[str, list[tuple[str, str, bytes]]]) -> list[bytes]:
    """Sign and frame POSTs to the shared inbox (runs in a worker process)."""
    host, items = args
    url = f"http://{host}/inbox"
    out = []
    for key_id, pem, body in items:
        headers = {"Content-Type": ACTIVITY_JSON}
        headers.update(sign_request("POST", url, headers, body, key_id, pem))
        head = "POST /inbox HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\nUser-Agent: fedi-bench\r\n\r\n"
        out.append(head.encode("latin-1") + body)
    return out


def signed_inbox_requests(
    host: str, actors: list[seed.RemoteActor], count: int, offset: int = 0
) -> list[bytes]:
    """``count`` signed ``Create{Note}`` POSTs, round-robin over ``actors`` (2 processes)."""
    items = []
    for index in range(offset, offset + count):
        actor = actors[index % len(actors)]
        body = orjson.dumps(seed.create_note_activity(actor, index))
        items.append((actor.key_id, actor.private_pem, body))
    chunk = max(1, len(items) // 8)
    chunks = [(host, items[i : i + chunk]) for i in range(0, len(items), chunk)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return [raw for part in pool.map(_sign_chunk, chunks) for raw in part]


async def _inbox_counts(instance: Instance) -> dict[str, int]:
    db = seed.database(instance.settings())
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(InboxItem.state, func.count()).group_by(InboxItem.state)
            )
            return {state: int(n) for state, n in rows}
    finally:
        await db.dispose()


async def _wait_processed(
    instance: Instance, target: int, limit_s: float
) -> tuple[float | None, dict[str, int]]:
    """Poll until ``target`` items left ``pending``; return (time reached, counts)."""
    db = seed.database(instance.settings())
    deadline = time.monotonic() + limit_s
    counts: dict[str, int] = {}
    try:
        while time.monotonic() < deadline:
            async with db.session() as session:
                rows = await session.execute(
                    select(InboxItem.state, func.count()).group_by(InboxItem.state)
                )
                counts = {state: int(n) for state, n in rows}
            if sum(n for s, n in counts.items() if s != "pending") >= target:
                return time.time(), counts
            await asyncio.sleep(0.05)
        return None, counts
    finally:
        await db.dispose()


def inbox(
    root: Path, *, db: str, server: str, activities: int, actors: int, domains: int,
    connections: int, separate_worker: bool = True,
) -> dict[str, Any]:
    """Signed ``Create{Note}`` POSTs at the shared inbox: accepted/s, processed/s, latency."""
    instance = Instance(root, db=db, server=server)
    try:
        remote = run_async(seed.seed_inbox(instance.settings(), actors=actors, domains=domains))
        t_sign = time.perf_counter()
        warm = signed_inbox_requests(instance.host, remote, len(remote))
        measured = signed_inbox_requests(instance.host, remote, activities, offset=len(remote))
        sign_s = time.perf_counter() - t_sign
        instance.start(separate_worker=separate_worker)
        # Warm-up: one activity per actor, so every key is in the cache (steady state).
        warm_result = loadgen(instance.port, warm, connections)
        reached, _ = run_async(_wait_processed(instance, len(warm), limit_s=120))
        if reached is None:
            raise RuntimeError("warm-up activities were not processed in time")
        profilers = start_profilers(instance, f"inbox-{db}")
        process = start_loadgen(instance.port, measured, connections, None)
        reached, counts = run_async(
            _wait_processed(instance, len(warm) + activities, limit_s=300)
        )
        result = finish_loadgen(process)
        stop_profilers(profilers)
        peaks = instance.stop()
        fallbacks = sum(
            instance.log(name).count("fell back to one by one") for name in ("serve", "worker")
        )
        accepted = result["statuses"].get("202", 0)
        processed_s = (reached - result["started_at"]) if reached else None
        return {
            "database": db,
            "server": server,
            "worker": "separate process" if separate_worker else "in fedi serve",
            "activities": activities,
            "remote_actors": actors,
            "remote_domains": domains,
            "connections": connections,
            "accepted": accepted,
            "accepted_per_s": round(accepted / result["elapsed_s"], 1),
            "processed_per_s": round(activities / processed_s, 1) if processed_s else None,
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "max_ms": result["max_ms"],
            "statuses": result["statuses"],
            "errors": result["errors"],
            "item_states": counts,
            "worker_batch_fallbacks": fallbacks,
            "warmup_accepted_per_s": warm_result["requests_per_s"],
            "loadgen_cpu_share": result["loadgen_cpu_share"],
            "presign_s": round(sign_s, 2),
            "peak_rss_mb": peaks,
        }
    finally:
        run_async(instance.cleanup())


# ---------------------------------------------------------------- fan-out


def _control(port: int, method: str, path: str) -> dict[str, Any]:
    response = httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=10)
    data: dict[str, Any] = response.json()
    return data


async def _delivery_summary(instance: Instance) -> dict[str, Any]:
    db = seed.database(instance.settings())
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Delivery.state, func.count(), func.sum(Delivery.attempts)).group_by(
                    Delivery.state
                )
            )
            states = {}
            attempts = 0
            total = 0
            for state, n, tries in rows:
                states[state] = int(n)
                attempts += int(tries or 0)
                total += int(n)
            return {"rows": total, "states": states, "retries": max(0, attempts - total)}
    finally:
        await db.dispose()


def _publish_note(instance: Instance, token: str, text: str) -> float:
    """POST a public note to the publisher's C2S outbox; return the wall time before it."""
    note = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Note",
        "content": text,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{instance.base_url}/users/publisher/followers"],
    }
    started = time.time()
    response = httpx.post(
        f"http://127.0.0.1:{instance.port}/users/publisher/outbox",
        content=orjson.dumps(note),
        headers={
            "Host": instance.host,
            "Authorization": f"Bearer {token}",
            "Content-Type": ACTIVITY_JSON,
        },
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"outbox answered {response.status_code}: {response.text[:300]}")
    return started


def fanout(
    root: Path, *, server: str, followers: int, servers: int, delays_ms: list[int],
    timeout: float = 60,
) -> dict[str, Any]:
    """One public note to ``followers`` followers on ``servers`` sink servers, per sink delay.

    Until tribes distribute initiatives, the subject is a public note by a person (the same
    publish -> Delivery rows -> delivery worker path a tribe's Announce will take).
    """
    sinks = subprocess.Popen(
        [sys.executable, "-m", "bench.sinks", "--count", str(servers)],
        stdout=subprocess.PIPE, cwd=str(ROOT),
    )
    instance = Instance(root, db="sqlite", server=server)
    runs: dict[str, Any] = {}
    try:
        assert sinks.stdout is not None
        announced = orjson.loads(sinks.stdout.readline())
        ports, control = announced["ports"], announced["control"]
        wait_for_port(control)
        token = run_async(
            seed.seed_publisher(instance.settings(), followers=followers, sink_ports=ports)
        )
        for delay in delays_ms:
            _control(control, "POST", "/reset")
            _control(control, "POST", f"/delay/{delay}")
            instance.start(separate_worker=True)
            started = _publish_note(instance, token, f"Fan-out test with {delay} ms sinks")
            stats: dict[str, Any] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                stats = _control(control, "GET", "/stats")
                if stats["ports_reached"] >= servers:
                    break
                time.sleep(0.02)
            done = stats["ports_reached"] >= servers
            elapsed = (stats["last_first_at"] - started) if done else None
            time.sleep(0.5)  # let the worker record the last outcomes
            summary = run_async(_delivery_summary(instance))
            peaks = instance.stop()
            run_async(_reset_deliveries(instance))
            runs[f"{delay}ms"] = {
                "sink_delay_ms": delay,
                "complete": done,
                "seconds": round(elapsed, 3) if elapsed is not None else None,
                "deliveries_per_s": round(stats["requests"] / elapsed, 1) if elapsed else None,
                "requests_received": stats["requests"],
                "distinct_signatures": stats["distinct_signatures"],
                "shared_inboxes_reached": stats["ports_reached"],
                "delivery_rows": summary["rows"],
                "delivery_states": summary["states"],
                "retries": summary["retries"],
                "peak_rss_mb": peaks,
            }
        return {
            "subject": "public Note by a person (tribe/initiative distribution not available yet)"
            if not _available("fedi.services.tribe_distribution")
            else "public Note by a person",
            "followers": followers,
            "servers": servers,
            "server": server,
            "runs": runs,
        }
    finally:
        sinks.terminate()
        sinks.wait()
        run_async(instance.cleanup())


async def _reset_deliveries(instance: Instance) -> None:
    """Forget the previous run's deliveries so the next run is measured alone."""
    from sqlalchemy import delete

    db = seed.database(instance.settings())
    try:
        async with db.session() as session:
            await session.execute(delete(Delivery))
    finally:
        await db.dispose()


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------- pages


def pages(
    root: Path, *, server: str, members: int, initiatives: int, duration: float,
    connections: int = 32,
) -> dict[str, Any]:
    """Requests/s and p95 of the tribe page, the tribe's Group JSON and a person's JSON."""
    instance = Instance(root, db="sqlite", server=server)
    out: dict[str, Any] = {"members": members, "connections": connections, "server": server}
    try:
        tribe = run_async(seed.seed_tribe(instance.settings(), members=members))
        instance.start(separate_worker=True)
        html = "text/html,application/xhtml+xml"
        targets = {
            "tribe_page": (f"/tribes/{tribe['slug']}", html),
            "tribe_actor_json": (f"/tribes/{tribe['slug']}", ACTIVITY_JSON),
            "actor_json": (f"/users/{tribe['owner']}", ACTIVITY_JSON),
        }
        for name, (path, accept) in targets.items():
            probe = httpx.get(
                f"http://127.0.0.1:{instance.port}{path}",
                headers={"Host": instance.host, "Accept": accept}, timeout=30,
            )
            json_wanted = accept == ACTIVITY_JSON
            if probe.status_code != 200 or (
                json_wanted and "json" not in probe.headers.get("content-type", "")
            ):
                out[name] = {"skipped": f"not available yet (GET {path} answered "
                             f"{probe.status_code} {probe.headers.get('content-type', '')})"}
                continue
            request = get_request(instance.host, path, accept)
            profilers = start_profilers(instance, f"pages-{name}")
            result = loadgen(instance.port, [request], connections, duration)
            stop_profilers(profilers)
            out[name] = {
                "path": path,
                "bytes": len(probe.content),
                "requests_per_s": result["requests_per_s"],
                "p50_ms": result["p50_ms"],
                "p95_ms": result["p95_ms"],
                "p99_ms": result["p99_ms"],
                "statuses": result["statuses"],
                "loadgen_cpu_share": result["loadgen_cpu_share"],
            }
        out["tribe_initiatives"] = initiatives if _available("models.initiative") else 0
        out["initiative_page"] = (
            {"skipped": "not available yet (initiatives are being built)"}
            if not _available("models.initiative")
            else {"skipped": "not wired into the benchmark yet"}
        )
        out["peak_rss_mb"] = instance.stop()
        return out
    finally:
        run_async(instance.cleanup())
