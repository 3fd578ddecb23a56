"""The benchmark scenarios: inbox, fan-out and pages, each against real processes.

Every scenario returns a plain dict (it goes into ``results.json`` as it is). A scenario whose
feature is not built yet returns ``{"skipped": "... not available yet"}`` instead of failing,
so the suite keeps running while tribes and initiatives land.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
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
from bench.instance import (
    Instance,
    MachineBusy,
    is_serving_name,
    peak_rss_mb,
    postgres_cpu_seconds,
    run_async,
    wait_for_port,
)
from bench.loadgen import write_requests
from models import Delivery, InboxItem

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- load generator


def start_loadgen(
    port: int, requests: list[bytes], connections: int, duration: float | None,
    latencies: str | None = None, rate: float | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``bench.loadgen`` in its own process (it reads the requests from a file);
    ``latencies``: a file where it writes every latency (ms); ``rate``: a steady load of
    that many requests/s instead of as fast as the server answers."""
    handle = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".req", delete=False)
    handle.close()
    write_requests(handle.name, requests)
    args = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--requests",
            handle.name, "--connections", str(connections)]
    args += ["--once"] if duration is None else ["--duration", str(duration)]
    if latencies:
        args += ["--latencies", latencies]
    if rate:
        args += ["--rate", str(rate)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=str(ROOT))
    process.request_file = handle.name  # type: ignore[attr-defined]
    return process


def cpu_ms_per(cpu_s: float | None, count: int) -> float | None:
    """CPU milliseconds per item, or None without a figure (a process gone, nothing done)."""
    return round(cpu_s * 1000 / count, 2) if cpu_s is not None and count else None


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
    # Every process of the instance, the worker child of ``fedi serve`` too.
    for name, pid in instance.pids():
        out.append(subprocess.Popen(
            [spy, "record", "-p", str(pid), "-f", "raw", "-r", "200",
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
    connections: int, separate_worker: bool = True, workers: int = 1,
) -> dict[str, Any]:
    """Signed ``Create{Note}`` POSTs at the shared inbox: accepted/s, processed/s, latency.

    ``workers``: how many ``fedi worker`` processes run beside ``fedi serve``.
    """
    instance = Instance(root, db=db, server=server)
    try:
        remote = run_async(seed.seed_inbox(instance.settings(), actors=actors, domains=domains))
        t_sign = time.perf_counter()
        warm = signed_inbox_requests(instance.host, remote, len(remote))
        measured = signed_inbox_requests(instance.host, remote, activities, offset=len(remote))
        sign_s = time.perf_counter() - t_sign
        instance.start(separate_worker=separate_worker, workers=workers)
        # Warm-up: one activity per actor, so every key is in the cache (steady state).
        warm_result = loadgen(instance.port, warm, connections)
        reached, _ = run_async(_wait_processed(instance, len(warm), limit_s=120))
        if reached is None:
            raise RuntimeError("warm-up activities were not processed in time")
        profilers = start_profilers(instance, f"inbox-{db}")
        cpu_before = instance.cpu()
        if db == "postgresql":
            cpu_before["postgres"] = postgres_cpu_seconds()
        busy = MachineBusy()
        process = start_loadgen(instance.port, measured, connections, None)
        reached, counts = run_async(
            _wait_processed(instance, len(warm) + activities, limit_s=300)
        )
        result = finish_loadgen(process)
        busy_cores = busy.cores()
        cpu_after = instance.cpu()
        if db == "postgresql":
            cpu_after["postgres"] = postgres_cpu_seconds()
        stop_profilers(profilers)
        cpu_ms = {
            name: round(1000 * ((cpu_after[name] or 0.0) - start) / activities, 3)
            for name, start in cpu_before.items()
            if start is not None and cpu_after.get(name) is not None
        }
        peaks = instance.stop()
        fallbacks = sum(
            instance.log(name).count("fell back to one by one")
            for name in ("serve", "worker", *(f"worker{n}" for n in range(2, workers + 1)))
        )
        accepted = result["statuses"].get("202", 0)
        processed_s = (reached - result["started_at"]) if reached else None
        return {
            "database": db,
            "server": server,
            "worker": (f"{workers} separate process{'es' if workers > 1 else ''}"
                       if separate_worker else "in fedi serve"),
            "workers": workers,
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
            "cpu_ms_per_activity": cpu_ms,
            # Cores of the whole machine busy from the first POST until all were processed.
            "busy_cores": busy_cores,
            "warmup_accepted_per_s": warm_result["requests_per_s"],
            "loadgen_cpu_share": result["loadgen_cpu_share"],
            "presign_s": round(sign_s, 2),
            "peak_rss_mb": peaks,
        }
    finally:
        run_async(instance.cleanup())


# ---------------------------------------------------------------- fan-out


def _control(client: httpx.Client, method: str, path: str) -> dict[str, Any]:
    """Ask the sinks' control port (one kept-alive client: a new one per call costs ~20 ms
    of CPU loading certificates, which polling every 20 ms took from the measured worker)."""
    response = client.request(method, path, timeout=10)
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


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    match = _CSRF.search(page.text)
    if match is None:
        raise RuntimeError(f"no CSRF token on {path} ({page.status_code})")
    return match.group(1)


def _owner_client(instance: Instance, tribe: dict[str, Any]) -> httpx.Client:
    """A logged-in browser-like client of the tribe's owner (session cookie + CSRF)."""
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{instance.port}", headers={"Host": instance.host},
        timeout=60,
    )
    token = _csrf(client, "/login")
    response = client.post(
        "/login",
        data={"login": tribe["owner"], "password": tribe["password"], "csrf_token": token},
    )
    if response.status_code not in (302, 303):
        client.close()
        raise RuntimeError(f"login answered {response.status_code}: {response.text[:300]}")
    return client


def _start_initiative(client: httpx.Client, slug: str, name: str) -> tuple[float, float]:
    """Start a public initiative through the tribe's web form, as a member does.

    Returns (wall time before the POST, seconds the POST took). The form is fetched first
    (its CSRF token), so only the create request itself is inside the measured time.
    """
    path = f"/tribes/{slug}/initiatives/new"
    form = {
        "csrf_token": _csrf(client, path),
        "name": name, "summary": "Meer bomen in de wijk.",
        "description": "We planten samen honderd bomen langs de singel.",
        "phase": "plan", "visibility": "public", "budget_type": "none", "budget_amount": "",
        "tags": "groen", "location": "", "expected_result": "", "motivation": "",
        "start_date": "", "end_date": "",
    }
    started = time.time()
    response = client.post(path, data=form)
    took = time.time() - started
    if response.status_code not in (302, 303):
        raise RuntimeError(f"the initiative form answered {response.status_code}: "
                           f"{response.text[-500:]}")
    return started, took


WORKER_READY = "worker running for"


def _wait_for_worker(instance: Instance, before: int, timeout: float = 60) -> None:
    """Wait until the new ``fedi worker`` runs its loops (its start-up is not measured).

    ``before`` is how often the (appended) log said so before this start.
    """
    deadline = time.monotonic() + timeout
    while instance.log("worker").count(WORKER_READY) <= before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fedi worker did not start:\n{instance.log('worker')[-4000:]}")
        time.sleep(0.05)


async def _delivery_rows(instance: Instance) -> int:
    db = seed.database(instance.settings())
    try:
        async with db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)
    finally:
        await db.dispose()


def fanout(
    root: Path, *, server: str, followers: int, servers: int, delays_ms: list[int],
    timeout: float = 60,
) -> dict[str, Any]:
    """A tribe with ``followers`` followers on ``servers`` sink servers announces an initiative.

    The tribe's owner starts a public initiative through the web form; the tribe announces it
    (FEP-1b12: ``Announce{Create{Page}}``, plus ``Announce{<page id>}`` as the Mastodon boost)
    to its followers, one signed POST per activity and shared inbox. Once per sink delay,
    each time with a fresh ``fedi serve`` and ``fedi worker``. ``seconds`` runs from the create
    request until the sinks received every announce; ``first_announce_s`` until every shared
    inbox received its first.
    """
    sinks = subprocess.Popen(
        [sys.executable, "-m", "bench.sinks", "--count", str(servers)],
        stdout=subprocess.PIPE, cwd=str(ROOT),
    )
    instance: Instance | None = None
    control_client: httpx.Client | None = None
    runs: dict[str, Any] = {}
    try:
        assert sinks.stdout is not None
        announced = orjson.loads(sinks.stdout.readline())
        ports, control = announced["ports"], announced["control"]
        wait_for_port(control)
        control_client = httpx.Client(base_url=f"http://127.0.0.1:{control}")
        # Only now pick the instance's port, so it cannot be one the sinks took meanwhile.
        instance = Instance(root, db="sqlite", server=server)
        tribe = run_async(
            seed.seed_tribe_followers(instance.settings(), followers=followers, sink_ports=ports)
        )
        for delay in delays_ms:
            _control(control_client, "POST", "/reset")
            _control(control_client, "POST", f"/delay/{delay}")
            started_before = instance.log("worker").count(WORKER_READY)
            instance.start(separate_worker=True)
            _wait_for_worker(instance, started_before)
            client = _owner_client(instance, tribe)
            cpu_before = instance.cpu()
            try:
                profilers = start_profilers(instance, f"fanout-{delay}ms")
                started, took = _start_initiative(
                    client, tribe["slug"], f"Bomen in de wijk ({delay} ms)"
                )
            finally:
                client.close()
            # The rows commit with the initiative, before the form's answer.
            expected = run_async(_delivery_rows(instance))
            stats: dict[str, Any] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                stats = _control(control_client, "GET", "/stats")
                if stats["ports_reached"] >= servers and stats["requests"] >= expected:
                    break
                time.sleep(0.02)
            # CPU seconds beside the wall time: on a shared machine the wall time also
            # measures the load.
            cpu = {
                name: round(used - (cpu_before.get(name) or 0.0), 2)
                for name, used in instance.cpu().items()
                if used is not None
            }
            stop_profilers(profilers)
            done = stats["ports_reached"] >= servers and stats["requests"] >= expected
            elapsed = (stats["last_at"] - started) if done else None
            time.sleep(0.5)  # let the worker record the last outcomes
            summary = run_async(_delivery_summary(instance))
            peaks = instance.stop()
            run_async(_reset_deliveries(instance))
            runs[f"{delay}ms"] = {
                "sink_delay_ms": delay,
                "complete": done,
                "seconds": round(elapsed, 3) if elapsed is not None else None,
                "first_announce_s": round(stats["last_first_at"] - started, 3) if done else None,
                "create_request_s": round(took, 3),
                # When the worker's first POST arrived (its poll and claim latency).
                "first_request_s": round(stats["first_at"] - started, 3) if done else None,
                "deliveries_per_s": round(stats["requests"] / elapsed, 1) if elapsed else None,
                "announces_per_inbox": round(expected / servers, 2),
                "requests_received": stats["requests"],
                "request_types": stats["types"],
                "max_requests_per_inbox": stats["max_per_port"],
                "distinct_signatures": stats["distinct_signatures"],
                "shared_inboxes_reached": stats["ports_reached"],
                "delivery_rows": summary["rows"],
                "delivery_states": summary["states"],
                "retries": summary["retries"],
                "cpu_s": cpu,
                "peak_rss_mb": peaks,
            }
        return {
            "subject": "a tribe announces an initiative started through its web form",
            "followers": followers,
            "servers": servers,
            "server": server,
            "runs": runs,
            # The sinks stand for the outside world: reported apart from the instance.
            "sinks_rss_mb": peak_rss_mb(sinks.pid),
        }
    finally:
        if control_client is not None:
            control_client.close()
        sinks.terminate()
        sinks.wait()
        if instance is not None:
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
    comments: int = 500, connections: int = 32, web_processes: str = "auto",
) -> dict[str, Any]:
    """Requests/s and p95 of the tribe page, an initiative page with ``comments`` comments,
    the tribe's Group JSON and a person's JSON, at ``connections`` keep-alive clients.

    The HTML pages are measured twice: as an anonymous visitor (who may be answered from
    the one-second page cache, ``fedi.http.web.cache``) and as a logged-in member (never cached:
    the session lookup and every query of the page run for each request).
    ``web_processes`` is ``FEDI_WEB_PROCESSES``: ``auto`` (one per core) is what the README
    recommends for an instance with many members online at once.
    """
    import hashlib

    instance = Instance(root, db="sqlite", server=server,
                        extra_env={"FEDI_WEB_PROCESSES": web_processes})
    out: dict[str, Any] = {
        "members": members, "connections": connections, "server": server,
        "tribe_initiatives": initiatives, "initiative_comments": comments,
    }
    try:
        tribe = run_async(seed.seed_tribe(
            instance.settings(), members=members, initiatives=initiatives, comments=comments,
        ))
        instance.start(separate_worker=True)
        # Every serving process must be up before the clock starts (they open the shared
        # port one after the other).
        time.sleep(2.0)
        out["web_processes"] = sum(1 for name, _pid in instance.pids() if is_serving_name(name))
        html = "text/html,application/xhtml+xml"
        session_cookie = (
            f"fedi_session_{hashlib.sha256(instance.host.encode()).hexdigest()[:8]}="
            f"{tribe['session_token']}"
        )
        tribe_path = f"/tribes/{tribe['slug']}"
        initiative_path = f"/initiatives/{tribe['initiative']}"
        targets: dict[str, tuple[str, str, str | None]] = {
            "tribe_page": (tribe_path, html, None),
            "tribe_page_member": (tribe_path, html, session_cookie),
            "initiative_page": (initiative_path, html, None),
            "initiative_page_member": (initiative_path, html, session_cookie),
            "tribe_actor_json": (tribe_path, ACTIVITY_JSON, None),
            "actor_json": (f"/users/{tribe['owner']}", ACTIVITY_JSON, None),
        }
        for name, (path, accept, cookie) in targets.items():
            headers = {"Host": instance.host, "Accept": accept}
            if cookie:
                headers["Cookie"] = cookie
            probe = httpx.get(f"http://127.0.0.1:{instance.port}{path}", headers=headers,
                              timeout=30)
            json_wanted = accept == ACTIVITY_JSON
            if probe.status_code != 200 or (
                json_wanted and "json" not in probe.headers.get("content-type", "")
            ):
                out[name] = {"skipped": f"not available (GET {path} answered "
                             f"{probe.status_code} {probe.headers.get('content-type', '')})"}
                continue
            request = get_request(instance.host, path, accept)
            if cookie:
                request = request[:-2] + f"Cookie: {cookie}\r\n\r\n".encode("latin-1")
            profilers = start_profilers(instance, f"pages-{name}")
            cpu_before = instance.serving_cpu()
            busy = MachineBusy()
            result = loadgen(instance.port, [request], connections, duration)
            busy_cores = busy.cores()
            cpu_after = instance.serving_cpu()
            stop_profilers(profilers)
            served = sum(result["statuses"].values())
            out[name] = {
                "path": path,
                "logged_in": cookie is not None,
                "bytes": len(probe.content),
                "requests_per_s": result["requests_per_s"],
                "p50_ms": result["p50_ms"],
                "p95_ms": result["p95_ms"],
                "p99_ms": result["p99_ms"],
                "statuses": result["statuses"],
                "loadgen_cpu_share": result["loadgen_cpu_share"],
                # The serving processes' CPU per page: with one request in flight per
                # client, the p95 cannot fall much below ``connections`` times this,
                # divided by the processes (when each has a core).
                "serve_cpu_ms_per_request": cpu_ms_per(
                    None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
                    served,
                ),
                "busy_cores": busy_cores,
            }
        out["peak_rss_mb"] = instance.stop()
        return out
    finally:
        run_async(instance.cleanup())
