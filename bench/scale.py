"""The ``scale`` scenario: how cost grows with what the database already holds.

The same instance is built twice, once with ``small`` and once with ``large`` stored notes
and activities (``objects``, ``inbox_items``, ``inbox_entries``, ``outbox_activities``),
seeded in bulk straight into SQLite (multi-row ``executemany`` in big transactions, not
through the services, then synced to disk so the server does not pay for that writing),
beside the tribe of the pages scenario. Each time the default
deployment (one ``fedi serve`` with in-process workers) serves the member pages (tribe page
and initiative page, logged in, never cached), then receives the known-actor part of the
inbox mix (``bench.mix``). Each figure of the large case is compared with the small one:
``ratios`` are large/small for latencies and small/large for rates (1.0 = no growth; the
target is < 2).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench import mix, seed
from bench.default_inbox import sign_all
from bench.instance import Instance, run_async
from bench.scenarios import _inbox_counts, _wait_processed, get_request, loadgen
from fedi.settings import Settings

# Shares of the stored rows per table (they add up to 1).
TABLE_SHARES = {"objects": 0.4, "inbox_items": 0.3, "inbox_entries": 0.2,
                "outbox_activities": 0.1}
STAMP = "2026-01-01 12:00:00.000000"


def sqlite_path(settings: Settings) -> str:
    """The SQLite file of an instance (``sqlite+aiosqlite:///PATH``)."""
    return settings.database_url.split("///", 1)[1].split("?", 1)[0]


def bulk_rows(settings: Settings, world: mix.MixWorld, total: int, chunk: int = 50_000) -> float:
    """Store ``total`` old notes and activities in bulk; return the seconds it took.

    Notes are by the known remote actors (every tenth a reply in a thread), inbox items are
    done, inbox entries fill the reader's inbox, outbox activities are the reader's.
    """
    started = time.perf_counter()
    conn = sqlite3.connect(sqlite_path(settings), isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    actor_ids = dict(conn.execute("SELECT ap_id, id FROM actors WHERE local = 0"))
    reader_id = conn.execute("SELECT id FROM actors WHERE ap_id = ?", (world.reader,)).fetchone()[0]
    authors = [(s.ap_id, actor_ids[s.ap_id]) for s in world.known if s.ap_id in actor_ids]
    sizes = {table: int(total * share) for table, share in TABLE_SHARES.items()}

    def note_id(n: int) -> str:
        return f"{authors[n % len(authors)][0]}/statuses/old-{n}"

    def rows(table: str, start: int, stop: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for n in range(start, stop):
            author, author_id = authors[n % len(authors)]
            ap_id = note_id(n)
            if table == "objects":
                parent = note_id(n - 1) if n % 10 == 9 else None
                payload = json.dumps({"id": ap_id, "type": "Note", "attributedTo": author,
                                      "content": f"<p>Oud bericht {n}.</p>",
                                      "to": [seed.PUBLIC]})
                out.append((ap_id, "Note", 0, author_id, f"<p>Oud bericht {n}.</p>", ap_id,
                            parent, "public", payload, STAMP))
            elif table == "inbox_items":
                payload = json.dumps({"id": f"{ap_id}/activity", "type": "Create",
                                      "actor": author, "object": ap_id})
                out.append((f"{ap_id}/activity", "Create", author, payload, author, STAMP,
                            "done", 1, STAMP, STAMP))
            elif table == "inbox_entries":
                payload = json.dumps({"id": f"{ap_id}/activity", "type": "Create",
                                      "actor": author, "object": ap_id})
                out.append((reader_id, f"{ap_id}/activity", payload, STAMP))
            else:
                own = f"{world.reader}/statuses/old-{n}"
                payload = json.dumps({"id": f"{own}/activity", "type": "Create",
                                      "actor": world.reader, "object": own})
                out.append((f"{own}/activity", reader_id, "Create", own, payload, 1, STAMP))
        return out

    statements = {
        "objects": "INSERT INTO objects (ap_id, type, local, attributed_to_id, content_html, "
                   "url, in_reply_to, visibility, payload, published) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "inbox_items": "INSERT INTO inbox_items (ap_id, type, actor_ap_id, payload, signed_by, "
                       "received_at, state, attempts, next_try_at, processed_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "inbox_entries": "INSERT INTO inbox_entries (actor_id, activity_ap_id, payload, "
                         "created_at) VALUES (?, ?, ?, ?)",
        "outbox_activities": "INSERT INTO outbox_activities (ap_id, actor_id, type, "
                             "object_ap_id, payload, public, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
    }
    try:
        for table, size in sizes.items():
            for start in range(0, size, chunk):
                conn.execute("BEGIN")
                conn.executemany(statements[table], rows(table, start, min(size, start + chunk)))
                conn.execute("COMMIT")
        conn.execute("ANALYZE")
        # Everything into the database file, the WAL emptied.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    _flush_to_disk(sqlite_path(settings))
    return time.perf_counter() - started


def _flush_to_disk(path: str) -> None:
    """Write the seeded file out to the disk now (``fsync``), as part of the seeding.

    The rows went in with ``synchronous=OFF``, so hundreds of MB of them would still sit
    in the kernel's page cache as dirty pages. The first ``fsync`` of the file afterwards
    (the server's first WAL checkpoint, run inline on its event loop) would then write them
    all and stall every request for a third of a second: a cost of the bulk seeding, not of
    holding the rows. A real database got its rows over months; they are long on disk.
    """
    for name in (path, path + "-wal"):
        if os.path.exists(name):
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _member_page(
    instance: Instance, path: str, cookie: str, connections: int, duration: float
) -> dict[str, Any]:
    request = get_request(instance.host, path, "text/html")
    request = request[:-2] + f"Cookie: {cookie}\r\n\r\n".encode("latin-1")
    result = loadgen(instance.port, [request], connections, duration)
    return {key: result[key] for key in ("requests_per_s", "p50_ms", "p95_ms", "statuses")}


def one_size(
    root: Path, *, server: str, rows: int, activities: int, known: int, domains: int,
    connections: int, members: int, initiatives: int, comments: int, duration: float,
    page_connections: int = 32, drain_limit_s: float = 90,
) -> dict[str, Any]:
    """One instance holding ``rows`` old rows: the member pages, then the inbox mix."""
    pairs = seed.keypairs()
    remotes = mix.start_remotes(pairs, domains, slow=0)
    instance = Instance(root, db="sqlite", server=server)
    try:
        world = run_async(mix.seed_world(instance.settings(), remotes, known=known, unknown=0))
        tribe = run_async(seed.seed_tribe(
            instance.settings(), members=members, initiatives=initiatives, comments=comments,
        ))
        seed_s = bulk_rows(instance.settings(), world, rows)
        items, counts = mix.build_mix(world, remotes.fast, activities, seed_value=5,
                                      tag="g", senders=world.known)
        requests = sign_all(instance.host, pairs, items)
        instance.start(separate_worker=False)
        # The pages first, while the in-process workers are idle: measured after the mix they
        # would also measure whatever backlog the workers still had.
        cookie = (f"fedi_session_{hashlib.sha256(instance.host.encode()).hexdigest()[:8]}="
                  f"{tribe['session_token']}")
        pages = {
            "tribe_page_member": _member_page(
                instance, f"/tribes/{tribe['slug']}", cookie, page_connections, duration),
            "initiative_page_member": _member_page(
                instance, f"/initiatives/{tribe['initiative']}", cookie, page_connections,
                duration),
        }
        stored = sum(run_async(_inbox_counts(instance)).values())
        result = loadgen(instance.port, requests, connections)
        accepted = result["statuses"].get("202", 0)
        reached, states = run_async(_wait_processed(instance, stored + accepted, drain_limit_s))
        # Not drained within the limit: the rate so far (``drained`` says so).
        processed_s = (reached or time.time()) - result["started_at"]
        done = accepted if reached else (
            sum(n for state, n in states.items() if state != "pending") - stored)
        peaks = instance.stop()
        return {
            "stored_rows": rows,
            "seed_s": round(seed_s, 1),
            "activities": activities,
            "mix": counts,
            "accepted_per_s": round(accepted / result["elapsed_s"], 1),
            "processed_per_s": round(done / processed_s, 1) if processed_s > 0 else None,
            "drained": reached is not None,
            "accept_p99_ms": result["p99_ms"],
            "item_states": states,
            **{f"{name}_p95_ms": page["p95_ms"] for name, page in pages.items()},
            "pages": pages,
            "peak_rss_mb": peaks,
        }
    finally:
        run_async(instance.cleanup())
        remotes.stop()


# Figures compared between the sizes: name -> True when higher is better.
COMPARED = {"accepted_per_s": True, "processed_per_s": True, "accept_p99_ms": False,
            "tribe_page_member_p95_ms": False, "initiative_page_member_p95_ms": False}


def scale(root: Path, *, server: str, small: int, large: int, **sizes: Any) -> dict[str, Any]:
    """Both sizes and how each figure grew (``worst_ratio``: the largest growth)."""
    runs = {str(rows): one_size(root, server=server, rows=rows, **sizes)
            for rows in (small, large)}
    before, after = runs[str(small)], runs[str(large)]
    ratios: dict[str, float | None] = {}
    for name, higher_better in COMPARED.items():
        a, b = before.get(name), after.get(name)
        if not a or not b:
            ratios[name] = None
        else:
            ratios[name] = round(a / b if higher_better else b / a, 2)
    known = [r for r in ratios.values() if r is not None]
    return {
        "small": small, "large": large, "runs": runs, "ratios": ratios,
        "worst_ratio": max(known) if known else None,
        "peak_rss_mb": {
            name: max((r["peak_rss_mb"].get(name) or 0) for r in runs.values())
            for name in after["peak_rss_mb"]
        },
    }
