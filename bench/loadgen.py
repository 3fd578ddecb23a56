"""A small HTTP/1.1 keep-alive load generator, run as a process of its own.

``python -m bench.loadgen --port P --requests FILE --connections N [--duration S | --once]``

FILE holds complete raw requests (each prefixed by a 4-byte big-endian length), built by the
caller: pre-signed inbox POSTs, or one GET repeated. Each of N connections sends a request,
reads the whole response (Content-Length or chunked), then sends the next, so at most N
requests are in flight ("bounded concurrency"). ``--once`` sends every request exactly once
(inbox activities must be unique); ``--duration`` cycles through them for S seconds. SIGINT
stops it early: each connection finishes the request it has in flight, then the result is
printed as usual. ``--latencies OUT`` also writes every latency (ms, sorted) to OUT as JSON,
so the caller can merge the quantiles of several runs.

``--rate R`` sends at a steady R requests/s instead of as fast as the server answers (an
"open" load: request k is due k/R seconds after the start, whichever connection is free
sends it). Its latency is counted from when it was due, not from when it was sent, so a
server that falls behind shows its queue in the figures instead of slowing the sender down.

The result (one JSON object on stdout) includes the generator's own CPU time, so a run can
show the generator was not the bottleneck: at ~100 % of one core it would be.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

import orjson


def read_requests(path: str) -> list[bytes]:
    """The length-prefixed raw requests stored in ``path``."""
    data = open(path, "rb").read()
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        out.append(data[pos : pos + size])
        pos += size
    return out


def write_requests(path: str, requests: list[bytes]) -> None:
    """Store ``requests`` for :func:`read_requests` (used by the orchestrator)."""
    with open(path, "wb") as handle:
        for raw in requests:
            handle.write(struct.pack(">I", len(raw)))
            handle.write(raw)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of already sorted values (nearest rank), 0 when empty."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, server wants to close)."""
    head = await reader.readuntil(b"\r\n\r\n")
    first_end = head.index(b"\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    close = False
    for line in head[first_end + 2 : -4].split(b"\r\n"):
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif lowered == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length > 0:
        await reader.readexactly(length)
    return status, close


async def run(
    host: str, port: int, requests: list[bytes], connections: int, duration: float | None,
    latencies_out: str | None = None, rate: float | None = None,
) -> dict[str, Any]:
    """Drive the load; return counts, statuses, latency quantiles and our own CPU use."""
    stopped = asyncio.Event()
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stopped.set)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - not in the main thread
        pass
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    source = iter(requests) if duration is None else itertools.cycle(requests)
    turn = itertools.count()  # the next request's place in the steady schedule
    deadline = None
    cpu_start = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if duration is not None:
        deadline = start + duration

    async def connection() -> None:
        nonlocal errors
        reader = writer = None
        while True:
            if stopped.is_set() or (deadline is not None and time.perf_counter() >= deadline):
                break
            raw = next(source, None)
            if raw is None:
                break
            due: float | None = None
            if rate:
                due = start + next(turn) / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            for _attempt in range(2):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    assert reader is not None
                    sent = due if due is not None else time.perf_counter()
                    writer.write(raw)
                    status, close = await _read_response(reader)
                    latencies.append(time.perf_counter() - sent)
                    statuses[status] = statuses.get(status, 0) + 1
                    if close:
                        writer.close()
                        writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    if writer is not None:
                        writer.close()
                    writer = None
                    errors += 1
                    await asyncio.sleep(0.01)  # a refused connect must not spin
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
    latencies.sort()
    done = len(latencies)
    if latencies_out:
        await asyncio.to_thread(
            Path(latencies_out).write_bytes,
            orjson.dumps([round(v * 1000, 3) for v in latencies]),
        )
    return {
        "completed": done,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "elapsed_s": round(elapsed, 4),
        "requests_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round((latencies[-1] if latencies else 0.0) * 1000, 2),
        "loadgen_cpu_s": round(cpu, 3),
        "loadgen_cpu_share": round(cpu / elapsed, 3) if elapsed > 0 else 0.0,
        "started_at": time.time() - elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; prints the result JSON on stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True, help="file of length-prefixed requests")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latencies", default=None, help="write every latency (ms) here")
    parser.add_argument("--rate", type=float, default=None, help="steady requests/s (open)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--duration", type=float)
    group.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    requests = read_requests(args.requests)
    try:
        import uvloop  # a faster loop keeps the generator's own cost low

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    result = runner(
        run(args.host, args.port, requests, args.connections,
            None if args.once else args.duration, args.latencies, args.rate)
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
