"""The ``inbox_default`` scenario: the default deployment under the realistic mix.

One ``fedi serve`` with its in-process workers (``FEDI_RUN_WORKERS`` on, SQLite), as
``make run`` and the README set it up, receives the mix of ``bench.mix`` from the loopback
servers of ``bench.remotes`` in two phases:

1. *calm*: half the activities, every remote server answering at once;
2. *stall*: the other half while one remote server answers after 2 s: ``slow_connections``
   never-seen actors of that server post at the same time (each accept waits for its key),
   a small share of the mix are replies whose parent lives there (the worker waits for it),
   and the local person ``reader`` posts a note through the C2S outbox (bearer token) every
   100 ms, whose latency is measured;
3. *steady*: while that server still stalls, ``steady_count`` more activities of the mix at a
   steady ``steady_rate`` per second (an open load, ``bench.loadgen --rate``), what an
   instance meets on an ordinary day: phase 2 sends as fast as the server answers, so its
   latencies are mostly the queue of 64 connections (about 64 / accepted per second), while
   this phase shows what a stall itself adds to an accept.

Figures: accepted/s over the first two phases, processed/s (from the first POST until every accepted
activity left ``pending``), accept p50/p99 overall, during the stall and at the steady
rate during the stall, the stalled
accepts themselves, the C2S post latency, peak RSS of ``fedi serve`` (and of the remote
servers' process, the outside world, reported apart).
"""

from __future__ import annotations

import random
import signal
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from activitypub.vocab import ACTIVITY_JSON
from bench import mix, seed
from bench.instance import Instance, MachineBusy, is_serving_name, run_async
from bench.loadgen import percentile
from bench.scenarios import (
    _inbox_counts,
    _sign_chunk,
    _wait_processed,
    cpu_ms_per,
    finish_loadgen,
    start_loadgen,
    start_profilers,
    stop_profilers,
)


def sign_all(
    host: str, pairs: list[tuple[str, str]], items: list[tuple[str, str, bytes]]
) -> list[bytes]:
    """Sign and frame ``items`` (key id, key index, body) as shared-inbox POSTs."""
    if not items:
        return []
    concrete = [(key_id, pairs[int(key)][0], body) for key_id, key, body in items]
    chunk = max(1, len(concrete) // 8)
    chunks = [(host, concrete[i : i + chunk]) for i in range(0, len(concrete), chunk)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return [raw for part in pool.map(_sign_chunk, chunks) for raw in part]


def _latencies(path: str) -> list[float]:
    data = Path(path).read_bytes() if Path(path).exists() else b"[]"
    Path(path).unlink(missing_ok=True)
    values: list[float] = orjson.loads(data or b"[]")
    return values


def _quantiles(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.5), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else 0.0,
    }


class C2SPoster:
    """Posts a public note as ``reader`` through the C2S outbox every ``every`` seconds."""

    def __init__(self, instance: Instance, token: str, every: float = 0.1) -> None:
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{instance.port}", timeout=30,
            headers={"Host": instance.host, "Authorization": f"Bearer {token}",
                     "Content-Type": ACTIVITY_JSON},
        )
        self.every = every
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.number = 0

    def post(self) -> tuple[int, float]:
        """One post; (status, milliseconds)."""
        self.number += 1
        body = orjson.dumps({
            "@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
            "to": [seed.PUBLIC],
            "object": {"type": "Note", "to": [seed.PUBLIC],
                       "content": f"<p>Zaterdag planten we weer, ronde {self.number}.</p>"},
        })
        started = time.perf_counter()
        response = self.client.post("/users/reader/outbox", content=body)
        return response.status_code, (time.perf_counter() - started) * 1000

    def _run(self) -> None:
        while not self.stop_event.is_set():
            status, took = self.post()
            self.latencies.append(took)
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.stop_event.wait(self.every)

    def start(self) -> None:
        """Start posting in a thread."""
        self.thread.start()

    def finish(self) -> dict[str, Any]:
        """Stop posting; the latency figures."""
        self.stop_event.set()
        self.thread.join(timeout=60)
        self.client.close()
        return {**_quantiles(self.latencies), "statuses": self.statuses}


WORKER_LABELS = {
    "process": "a worker child of fedi serve (FEDI_RUN_WORKERS=process, the default)",
    "inline": "in fedi serve's event loop (FEDI_RUN_WORKERS=inline)",
}


def inbox_default(
    root: Path, *, server: str, activities: int, known: int, unknown: int, domains: int,
    connections: int, slow_connections: int = 20, slow_requests: int = 600,
    slow_delay: float = 2.0, slow_parent_share: float = 0.005, drain_limit_s: float = 120,
    tribe_followers: int = 4, mode: str = "process", steady_count: int = 1_000,
    steady_rate: float = 200.0, web_processes: str = "1",
) -> dict[str, Any]:
    """The default deployment under the realistic mix, with one stalling remote server.

    ``mode`` is how ``fedi serve`` runs its workers (``FEDI_RUN_WORKERS``): ``process``, the
    default, a worker child beside it; ``inline``, in its own event loop (the former default).
    ``web_processes`` is ``FEDI_WEB_PROCESSES`` (the default deployment serves with one).

    ``tribe_followers`` remote followers of the mentioned tribe, each on its own server: a
    mention the tribe takes is announced twice to each of their shared inboxes.
    """
    pairs = seed.keypairs()
    remotes = mix.start_remotes(pairs, domains + 1, slow=1, delay=slow_delay)
    instance = Instance(root, db="sqlite", server=server,
                        extra_env={"FEDI_WEB_PROCESSES": web_processes})
    remote_peak: float | None = None
    try:
        world = run_async(mix.seed_world(
            instance.settings(), remotes, known=known, unknown=unknown,
            tribe_followers=tribe_followers,
        ))
        slow_port = remotes.slow[0]
        half = activities // 2
        t_sign = time.perf_counter()
        calm_items, calm_counts = mix.build_mix(world, remotes.fast, half, seed_value=1,
                                                tag="c")
        stall_items, stall_counts = mix.build_mix(
            world, remotes.fast, activities - half, seed_value=2, tag="s",
            slow_parents=(slow_port, slow_parent_share),
        )
        steady_items, steady_counts = mix.build_mix(
            world, remotes.fast, steady_count, seed_value=4, tag="t",
            slow_parents=(slow_port, slow_parent_share),
        )
        rng = random.Random(3)
        slow_items = [
            (who.key_id, str(who.key),
             orjson.dumps(mix.activity("note", who, f"slow-{n}", world, rng)))
            for n, who in enumerate(mix.slow_senders(slow_port, slow_requests, "x"))
        ]
        calm = sign_all(instance.host, pairs, calm_items)
        stall = sign_all(instance.host, pairs, stall_items)
        steady = sign_all(instance.host, pairs, steady_items)
        slow = sign_all(instance.host, pairs, slow_items)
        sign_s = time.perf_counter() - t_sign
        instance.start(separate_worker=False, mode=mode)
        poster = C2SPoster(instance, world.token)
        probe_status, _ = poster.post()  # also warms the path up
        stored = sum(run_async(_inbox_counts(instance)).values())
        profilers = start_profilers(instance, f"inbox_default_{mode}")
        cpu_before = instance.cpu()
        folder = tempfile.mkdtemp(prefix="bench-lat-")
        calm_file, stall_file, slow_file, steady_file = (
            f"{folder}/{n}.json" for n in ("c", "s", "x", "t")
        )
        busy = MachineBusy()
        # Phase 1: calm.
        calm_result = finish_loadgen(start_loadgen(instance.port, calm, connections, None,
                                                   calm_file))
        # Phase 2: one server stalls.
        slow_process = start_loadgen(instance.port, slow, slow_connections, None, slow_file)
        time.sleep(0.5)  # the stalled accepts are in flight before the clock starts
        if probe_status == 201:
            poster.start()
        stall_result = finish_loadgen(start_loadgen(instance.port, stall, connections, None,
                                                    stall_file))
        # Cores busy while the mix arrived as fast as the server answered (phases 1 and 2).
        busy_cores = busy.cores()
        c2s = poster.finish() if probe_status == 201 else {
            "skipped": f"C2S outbox answered {probe_status}"}
        # Phase 3: the same server still stalls; activities arrive at a steady rate.
        steady_result = finish_loadgen(start_loadgen(
            instance.port, steady, connections, None, steady_file, rate=steady_rate,
        ))
        slow_process.send_signal(signal.SIGINT)
        slow_result = finish_loadgen(slow_process)
        accepted_main = calm_result["statuses"].get("202", 0) + \
            stall_result["statuses"].get("202", 0)
        accepted_slow = slow_result["statuses"].get("202", 0)
        accepted_steady = steady_result["statuses"].get("202", 0)
        accepted_all = accepted_main + accepted_slow + accepted_steady
        reached, counts = run_async(_wait_processed(instance, stored + accepted_all, drain_limit_s))
        cpu_after = instance.cpu()
        stop_profilers(profilers)
        calm_lat, stall_lat, slow_lat, steady_lat = (
            _latencies(f) for f in (calm_file, stall_file, slow_file, steady_file)
        )
        Path(folder).rmdir()
        remote_stats = remotes.stats()
        peaks = instance.stop()
        remote_peak = remotes.stop()
        started = calm_result["started_at"]
        main_elapsed = calm_result["elapsed_s"] + stall_result["elapsed_s"]
        done = sum(n for state, n in counts.items() if state != "pending") - stored
        # Not drained within the limit: the rate so far (``drained`` says so).
        processed_s = (reached or time.time()) - started
        processed = accepted_all if reached else done
        cpu_used = {name: round((cpu_after.get(name) or 0) - (start or 0), 2)
                    for name, start in cpu_before.items()}
        return {
            "database": "sqlite",
            "server": server,
            "worker": WORKER_LABELS[mode],
            "mode": mode,
            "activities": activities,
            "known_actors": known,
            "unknown_actors": unknown,
            "remote_domains": domains,
            "tribe_followers": tribe_followers,
            "connections": connections,
            "mix": {"calm": calm_counts, "stall": stall_counts, "steady": steady_counts,
                    "slow_new_actor_notes": slow_result["completed"]},
            "accepted": accepted_main,
            "accepted_per_s": round(accepted_main / main_elapsed, 1) if main_elapsed else None,
            "processed_per_s": round(processed / processed_s, 1) if processed_s > 0 else None,
            "processed": done,
            "drained": reached is not None,
            "drain_limit_s": drain_limit_s,
            "item_states": counts,
            "accept": _quantiles(calm_lat + stall_lat),
            "accept_calm": _quantiles(calm_lat),
            "accept_during_stall": _quantiles(stall_lat),
            "stall_s": stall_result["elapsed_s"],
            "accept_steady_during_stall": {
                **_quantiles(steady_lat), "rate_per_s": steady_rate,
                "accepted": accepted_steady, "elapsed_s": steady_result["elapsed_s"],
            },
            "stalled_accepts": _quantiles(slow_lat),
            "statuses": {"calm": calm_result["statuses"], "stall": stall_result["statuses"],
                         "slow": slow_result["statuses"], "steady": steady_result["statuses"]},
            "errors": calm_result["errors"] + stall_result["errors"] + steady_result["errors"],
            "c2s_post_during_stall": c2s,
            "cpu_s": cpu_used,
            # What one activity costs each process (CPU, not wall time): how many cores a
            # target needs follows from these (BENCHMARKS.md, finding 14).
            # Every serving process (``serve``, and ``web2``... with ``web_processes``).
            "cpu_ms_per_accept": cpu_ms_per(
                sum(v for name, v in cpu_used.items() if is_serving_name(name)),
                accepted_all,
            ),
            "cpu_ms_per_processed": cpu_ms_per(cpu_used.get("worker"), done),
            "busy_cores": busy_cores,
            "remote_requests": remote_stats,
            "presign_s": round(sign_s, 2),
            "peak_rss_mb": peaks,
            "remote_servers_rss_mb": remote_peak,
        }
    finally:
        run_async(instance.cleanup())
        if remote_peak is None:
            remotes.stop()
