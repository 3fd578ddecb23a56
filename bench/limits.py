"""The machine's own limits, measured in the same run as the scenarios.

RSA-2048 signs and verifies per second on one core (the inbox verifies once per activity,
delivery signs once per shared inbox), SQLite rows per second for batched inserts (and
commits per second, one row each, for contrast), and the requests per second of a bare ASGI
endpoint under the same load generator and server as ``fedi serve`` (plus a raw-socket
responder, which shows the load generator's own ceiling, and the other ASGI server).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.instance import free_port, wait_for_port
from bench.scenarios import ROOT, get_request, loadgen


def rsa_rates(seconds: float) -> dict[str, float]:
    """RSA-2048 PKCS#1 v1.5 SHA-256 signs/s and verifies/s in this (single) thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    message = b"(request-target): post /inbox\nhost: example.org\ndate: x\ndigest: y"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    out: dict[str, float] = {}
    for name, operation in (
        ("sign_per_s", lambda: key.sign(message, padding.PKCS1v15(), hashes.SHA256())),
        (
            "verify_per_s",
            lambda: public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256()),
        ),
    ):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for _ in range(20):
                operation()
            count += 20
        out[name] = round(count / (time.perf_counter() - start), 1)
    return out


def sqlite_rates(rows: int, batch: int = 500) -> dict[str, Any]:
    """Rows/s for batched inserts (WAL, synchronous=NORMAL, as the app configures SQLite)."""
    payload = orjson.dumps({"type": "Create", "object": {"content": "x" * 300}}).decode()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "limit.sqlite3")
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, ap_id TEXT UNIQUE, type TEXT, "
            "actor TEXT, payload TEXT, state TEXT, created_at TEXT)"
        )
        start = time.perf_counter()
        for offset in range(0, rows, batch):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO items (ap_id, type, actor, payload, state, created_at) "
                "VALUES (?, 'Create', 'https://a.example/u', ?, 'pending', '2026-01-01')",
                [(f"https://a.example/a/{i}", payload) for i in range(offset, offset + batch)],
            )
            conn.execute("COMMIT")
        batched = rows / (time.perf_counter() - start)
        single = max(200, rows // 25)
        start = time.perf_counter()
        for i in range(single):
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO items (ap_id, type, actor, payload, state, created_at) "
                "VALUES (?, 'Create', 'https://a.example/u', ?, 'pending', '2026-01-01')",
                (f"https://b.example/a/{i}", payload),
            )
            conn.execute("COMMIT")
        commits = single / (time.perf_counter() - start)
        conn.close()
    return {
        "batched_rows_per_s": round(batched, 1),
        "batch_size": batch,
        "single_row_commits_per_s": round(commits, 1),
    }


def bare_asgi(server: str, duration: float, connections: int) -> dict[str, Any]:
    """Requests/s of ``bench.bare`` under ``server`` (``raw``: no HTTP server at all)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare", "--server", server, "--port", str(port)],
        cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        request = get_request(f"127.0.0.1:{port}", "/", "application/json")
        result = loadgen(port, [request], connections, duration)
    finally:
        process.terminate()
        process.wait()
    return {
        "server": server,
        "requests_per_s": result["requests_per_s"],
        "p50_ms": result["p50_ms"],
        "p95_ms": result["p95_ms"],
        "loadgen_cpu_share": result["loadgen_cpu_share"],
    }


def measure(*, quick: bool, server: str) -> dict[str, Any]:
    """All limits; ``quick`` shortens every measurement."""
    duration = 1.0 if quick else 4.0
    other = "hypercorn" if server == "uvicorn" else "uvicorn"
    return {
        "rsa_2048": rsa_rates(0.5 if quick else 2.0),
        "sqlite": sqlite_rates(10_000 if quick else 100_000),
        "bare_asgi": bare_asgi(server, duration, 32),
        "bare_asgi_other_server": bare_asgi(other, duration, 32),
        "loadgen_ceiling": bare_asgi("raw", duration, 32),
    }
