"""``python -m bench.run`` (``make bench``): limits, scenarios, results.json, BENCHMARKS.md.

``--quick`` runs every scenario at a small size (for development and the smoke test);
``--only inbox,fanout`` picks scenarios (``SCENARIOS``). The last line printed is one JSON
object with the headline figures (keys in ``HEADLINE_KEYS``), ``null`` where a scenario did not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

from bench import limits, mix_costs, scenarios
from bench.default_inbox import inbox_default
from bench.hostile import inbox_hostile
from bench.instance import postgres_available
from bench.scale import scale

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
TEMPLATE = ROOT / "bench" / "BENCHMARKS.template.md"
REPORT = ROOT / "BENCHMARKS.md"
SCENARIOS = (
    "limits", "inbox", "inbox_pg", "inbox_pg_workers", "inbox_default", "inbox_inline", "fanout",
    "fanout_large", "pages", "scale", "mix_costs", "inbox_hostile",
)
HEADLINE_KEYS = (
    "inbox_default_accepted_per_s", "inbox_default_processed_per_s",
    "inbox_default_stall_p99_ms", "inbox_default_steady_stall_p99_ms", "inbox_default_p99_ms",
    "c2s_post_stall_p95_ms", "inbox_default_rss_mb",
    "inbox_accepted_per_s", "inbox_processed_per_s", "inbox_p99_ms",
    "inbox_pg_workers_processed_per_s",
    "fanout_0ms_s", "fanout_200ms_s", "fanout_100k_s", "fanout_100k_max_rss_mb",
    "tribe_page_p95_ms", "tribe_page_member_p95_ms", "initiative_page_p95_ms",
    "initiative_page_member_p95_ms", "actor_json_p95_ms",
    "inbox_hostile_friendly_p99_ms", "inbox_hostile_refused_per_s",
    "scale_worst_ratio", "peak_rss_mb", "peak_rss_sum_mb",
    "rsa_sign_per_s", "rsa_verify_per_s",
)

FULL: dict[str, dict[str, Any]] = {
    "inbox": {"activities": 12_000, "actors": 1_000, "domains": 100, "connections": 64},
    "fanout": {"followers": 10_000, "servers": 500},
    "pages": {"members": 10_000, "initiatives": 1_000, "comments": 500, "duration": 6.0},
    "inbox_default": {"activities": 12_000, "known": 1_000, "unknown": 1_000, "domains": 100,
                      "connections": 64, "slow_connections": 20, "slow_requests": 600,
                      "drain_limit_s": 90},
    "fanout_large": {"followers": 100_000, "servers": 5_000},
    "scale": {"small": 10_000, "large": 1_000_000, "activities": 4_000, "known": 1_000,
              "domains": 50, "connections": 64, "members": 10_000, "initiatives": 1_000,
              "comments": 500, "duration": 4.0, "drain_limit_s": 60},
    "mix_costs": {"count": 300},
    "inbox_hostile": {"known": 1_000, "domains": 100, "friendly_rate": 200.0, "phase_s": 6.0,
                      "hostile_connections": 32, "idle_connections": 200},
}
QUICK: dict[str, dict[str, Any]] = {
    "inbox": {"activities": 300, "actors": 40, "domains": 8, "connections": 16},
    "fanout": {"followers": 200, "servers": 20},
    "pages": {"members": 200, "initiatives": 20, "comments": 50, "duration": 1.0},
    "inbox_default": {"activities": 400, "known": 30, "unknown": 30, "domains": 6,
                      "connections": 16, "slow_connections": 4, "slow_requests": 40,
                      "drain_limit_s": 60, "steady_count": 100, "steady_rate": 50.0},
    "fanout_large": {"followers": 1_000, "servers": 100},
    "scale": {"small": 1_000, "large": 20_000, "activities": 300, "known": 40, "domains": 4,
              "connections": 16, "members": 200, "initiatives": 20, "comments": 50,
              "duration": 1.0, "page_connections": 8},
    "mix_costs": {"count": 30, "domains": 4},
    "inbox_hostile": {"known": 30, "domains": 4, "friendly_rate": 50.0, "phase_s": 1.5,
                      "hostile_connections": 8, "idle_connections": 20},
}
# The pages scenario's figures, in table order (anonymous and logged-in HTML, then JSON).
PAGE_FIGURES = (
    "tribe_page", "tribe_page_member", "initiative_page", "initiative_page_member",
    "tribe_actor_json", "actor_json",
)
TARGETS = {
    "inbox_default_accepted_per_s": (">=", 1500), "inbox_default_processed_per_s": (">=", 1000),
    "inbox_default_stall_p99_ms": ("<", 200), "c2s_post_stall_p95_ms": ("<", 200),
    "inbox_default_rss_mb": ("<", 200),
    "inbox_accepted_per_s": (">=", 1500), "inbox_processed_per_s": (">=", 1000),
    "inbox_p99_ms": ("<", 200), "inbox_pg_workers_processed_per_s": (">=", 1000),
    "fanout_0ms_s": ("<", 3), "fanout_200ms_s": ("<", 5),
    "fanout_100k_s": ("<", 20), "fanout_100k_max_rss_mb": ("<", 300),
    "tribe_page_p95_ms": ("<", 50), "tribe_page_member_p95_ms": ("<", 50),
    "initiative_page_p95_ms": ("<", 50), "initiative_page_member_p95_ms": ("<", 50),
    "actor_json_p95_ms": ("<", 20), "scale_worst_ratio": ("<", 2), "peak_rss_mb": ("<", 200),
}
# Scenarios whose processes count for ``peak_rss_mb`` / ``peak_rss_sum_mb`` (the large
# fan-out has its own bound, ``fanout_100k_max_rss_mb``).
RSS_EXCLUDED = ("fanout_large_0ms",)


def machine() -> dict[str, Any]:
    """Where the run happened: cores, CPU model, memory, Python, date and commit."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = ""
    if shutil.which("git"):
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=False,
        )
        commit = found.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
            check=False,
        )
        if dirty.stdout.strip():
            commit += " (with uncommitted changes)"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_average_at_start": os.getloadavg()[0],
    }


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _largest(peaks: Any) -> float | None:
    """The largest peak RSS among a scenario's processes (None when none was read)."""
    values = [v for v in (peaks or {}).values() if isinstance(v, (int, float))]
    return max(values) if values else None


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The one-line summary (all keys always present)."""
    memory = {k: v for k, v in results.get("memory", {}).items() if k not in RSS_EXCLUDED}
    peaks = [value for scenario in memory.values() for value in scenario.values()
             if value is not None]
    sums = [sum(v for v in scenario.values() if v is not None) for scenario in memory.values()]
    large = _get(results, "fanout_large", "runs", "0ms") or {}
    large_peaks = [v for v in (large.get("peak_rss_mb") or {}).values() if v is not None]
    if _get(results, "fanout_large", "sinks_rss_mb") is not None:
        large_peaks.append(results["fanout_large"]["sinks_rss_mb"])
    return {
        "inbox_default_accepted_per_s": _get(results, "inbox_default", "accepted_per_s"),
        "inbox_default_processed_per_s": _get(results, "inbox_default", "processed_per_s"),
        "inbox_default_stall_p99_ms": _get(results, "inbox_default", "accept_during_stall",
                                           "p99_ms"),
        "inbox_default_steady_stall_p99_ms": _get(
            results, "inbox_default", "accept_steady_during_stall", "p99_ms"
        ),
        "inbox_default_p99_ms": _get(results, "inbox_default", "accept", "p99_ms"),
        "c2s_post_stall_p95_ms": _get(results, "inbox_default", "c2s_post_during_stall",
                                      "p95_ms"),
        "inbox_default_rss_mb": _largest(_get(results, "inbox_default", "peak_rss_mb")),
        "inbox_pg_workers_processed_per_s": _get(results, "inbox_pg_workers",
                                                 "processed_per_s"),
        "fanout_100k_s": large.get("seconds"),
        "fanout_100k_max_rss_mb": max(large_peaks) if large_peaks else None,
        "tribe_page_member_p95_ms": _get(results, "pages", "tribe_page_member", "p95_ms"),
        "initiative_page_p95_ms": _get(results, "pages", "initiative_page", "p95_ms"),
        "initiative_page_member_p95_ms": _get(results, "pages", "initiative_page_member",
                                              "p95_ms"),
        "inbox_hostile_friendly_p99_ms": _get(results, "inbox_hostile",
                                              "friendly_under_attack", "p99_ms"),
        "inbox_hostile_refused_per_s": _get(results, "inbox_hostile", "hostile", "per_s"),
        "scale_worst_ratio": _get(results, "scale", "worst_ratio"),
        "peak_rss_sum_mb": round(max(sums), 1) if sums else None,
        "inbox_accepted_per_s": _get(results, "inbox", "accepted_per_s"),
        "inbox_processed_per_s": _get(results, "inbox", "processed_per_s"),
        "inbox_p99_ms": _get(results, "inbox", "p99_ms"),
        "fanout_0ms_s": _get(results, "fanout", "runs", "0ms", "seconds"),
        "fanout_200ms_s": _get(results, "fanout", "runs", "200ms", "seconds"),
        "tribe_page_p95_ms": _get(results, "pages", "tribe_page", "p95_ms"),
        "actor_json_p95_ms": _get(results, "pages", "actor_json", "p95_ms"),
        "peak_rss_mb": max(peaks) if peaks else None,
        "rsa_sign_per_s": _get(results, "limits", "rsa_2048", "sign_per_s"),
        "rsa_verify_per_s": _get(results, "limits", "rsa_2048", "verify_per_s"),
    }


def _target_text(key: str, target: tuple[str, int] | None) -> str:
    """The target column of a headline row: the target, "(limit)" for the machine's own
    limits, nothing for a figure shown beside a target (the overall p99, the steady one)."""
    if target:
        return f"{target[0]} {target[1]:,}"
    return "(limit)" if key.startswith("rsa_") else ""


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """Our figures as fractions of the machine's limits measured in the same run."""
    out: dict[str, Any] = {}

    def ratio(name: str, ours: Any, limit: Any) -> None:
        if isinstance(ours, int | float) and isinstance(limit, int | float) and limit:
            out[name] = round(ours / limit, 3)

    bare = _get(results, "limits", "bare_asgi", "requests_per_s")
    verify = _get(results, "limits", "rsa_2048", "verify_per_s")
    sign = _get(results, "limits", "rsa_2048", "sign_per_s")
    rows = _get(results, "limits", "sqlite", "batched_rows_per_s")
    for key in ("inbox", "inbox_pg", "inbox_pg_workers", "inbox_default"):
        accepted = _get(results, key, "accepted_per_s")
        ratio(f"{key}_accepted_vs_bare_asgi", accepted, bare)
        ratio(f"{key}_accepted_vs_rsa_verify_1core", accepted, verify)
        ratio(f"{key}_processed_vs_sqlite_batched_rows", _get(results, key, "processed_per_s"),
              rows)
    for delay in ("0ms", "200ms"):
        ratio(f"fanout_{delay}_deliveries_vs_rsa_sign_1core",
              _get(results, "fanout", "runs", delay, "deliveries_per_s"), sign)
    for page in PAGE_FIGURES:
        ratio(f"{page}_vs_bare_asgi", _get(results, "pages", page, "requests_per_s"), bare)
    ratio("bare_asgi_vs_loadgen_ceiling", bare,
          _get(results, "limits", "loadgen_ceiling", "requests_per_s"))
    ratio("bare_asgi_vs_other_server", bare,
          _get(results, "limits", "bare_asgi_other_server", "requests_per_s"))
    return out


def verdicts(head: dict[str, Any]) -> dict[str, str]:
    """``met`` / ``MISSED`` / ``not run`` per target."""
    out = {}
    for key, (op, target) in TARGETS.items():
        value = head.get(key)
        if value is None:
            out[key] = "not run"
        else:
            ok = value >= target if op == ">=" else value < target
            out[key] = "met" if ok else "MISSED"
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: dict[str, Any]) -> str:
    """The markdown tables of one run."""
    head = results["headline"]
    verdict = verdicts(head)
    m = results["machine"]
    lines = [
        f"Run: {m['date']}, commit {m['commit'] or 'unknown'}, mode "
        f"{'quick' if results['quick'] else 'full'}, {results['duration_s']} s.",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']}, Python {m['python']}, "
        f"load average at start {m['load_average_at_start']:.2f}.",
        "",
        "| headline | value | target | verdict |",
        "|---|---:|---|---|",
    ]
    for key in HEADLINE_KEYS:
        target = TARGETS.get(key)
        lines.append(
            f"| `{key}` | {_fmt(head.get(key))} | "
            f"{_target_text(key, target)} | "
            f"{verdict.get(key, '')} |"
        )
    lim = results.get("limits", {})
    if lim and "error" not in lim:
        lines += ["", "| machine limit | value |", "|---|---:|"]
        lines.append(f"| RSA-2048 signs/s (1 core) | {_fmt(_get(lim, 'rsa_2048', 'sign_per_s'))} |")
        lines.append(
            f"| RSA-2048 verifies/s (1 core) | {_fmt(_get(lim, 'rsa_2048', 'verify_per_s'))} |"
        )
        lines.append(
            f"| SQLite rows/s, batches of {_get(lim, 'sqlite', 'batch_size')} | "
            f"{_fmt(_get(lim, 'sqlite', 'batched_rows_per_s'))} |"
        )
        lines.append(
            f"| SQLite commits/s, one row each | "
            f"{_fmt(_get(lim, 'sqlite', 'single_row_commits_per_s'))} |"
        )
        for key, label in (
            ("bare_asgi", "bare ASGI JSON req/s"),
            ("bare_asgi_other_server", "bare ASGI JSON req/s, other server"),
            ("loadgen_ceiling", "load generator ceiling (raw socket responder) req/s"),
        ):
            entry = lim.get(key, {})
            lines.append(
                f"| {label} ({entry.get('server')}; generator CPU "
                f"{_fmt(entry.get('loadgen_cpu_share'))} of a core) | "
                f"{_fmt(entry.get('requests_per_s'))} |"
            )
    lines += ["", "| scenario | figure | value |", "|---|---|---:|"]
    lines += _inbox_default_rows(results.get("inbox_default"))
    lines += _inbox_default_rows(results.get("inbox_inline"), "inbox_inline")
    lines += _mix_cost_rows(results.get("mix_costs"))
    lines += _hostile_rows(results.get("inbox_hostile"))
    for key in ("inbox", "inbox_pg", "inbox_pg_workers"):
        entry = results.get(key)
        if not entry:
            continue
        if "skipped" in entry or "error" in entry:
            lines.append(f"| {key} | | {entry.get('skipped') or entry.get('error')} |")
            continue
        label = f"{key} ({entry['database']}, {entry['activities']:,} activities, " \
                f"{entry['connections']} connections, {entry.get('workers', 1)} worker(s))"
        for figure in ("accepted_per_s", "processed_per_s", "p50_ms", "p99_ms"):
            lines.append(f"| {label} | {figure} | {_fmt(entry.get(figure))} |")
        costs = entry.get("cpu_ms_per_activity") or {}
        if costs:
            lines.append(f"| {label} | CPU ms per activity {' / '.join(costs)} | "
                         f"{' / '.join(_fmt(v) for v in costs.values())} |")
        if entry.get("busy_cores") is not None:
            lines.append(f"| {label} | cores busy (whole machine) | "
                         f"{_fmt(entry['busy_cores'])} |")
        peaks = entry["peak_rss_mb"]
        lines.append(f"| {label} | peak RSS {' / '.join(peaks)} MB | "
                     f"{' / '.join(_fmt(v) for v in peaks.values())} |")
    for fan in (results.get("fanout"), results.get("fanout_large")):
        if not fan:
            continue
        if "runs" not in fan:
            lines.append(f"| fan-out | | {fan.get('skipped') or fan.get('error')} |")
        else:
            for delay, run in fan["runs"].items():
                label = f"fan-out {fan['followers']:,} followers / {fan['servers']} servers, " \
                        f"{delay} sinks"
                for figure in ("seconds", "first_announce_s", "first_request_s",
                               "deliveries_per_s", "requests_received", "distinct_signatures",
                               "retries"):
                    lines.append(f"| {label} | {figure} | {_fmt(run.get(figure))} |")
                cpu = run.get("cpu_s") or {}
                lines.append(f"| {label} | CPU s serve / worker | {_fmt(cpu.get('serve'))} / "
                             f"{_fmt(cpu.get('worker'))} |")
                lines.append(f"| {label} | peak RSS serve / worker / sinks MB | "
                             f"{_fmt(run['peak_rss_mb'].get('serve'))} / "
                             f"{_fmt(run['peak_rss_mb'].get('worker'))} / "
                             f"{_fmt(fan.get('sinks_rss_mb'))} |")
    pages = results.get("pages")
    if pages:
        for name in PAGE_FIGURES:
            entry = pages.get(name) if isinstance(pages, dict) else None
            if entry is None:
                continue
            if "skipped" in entry:
                lines.append(f"| {name} | | {entry['skipped']} |")
                continue
            size = (
                f"{pages.get('initiative_comments', 0):,} comments" if name.startswith("initiative")
                else f"{pages['members']:,} members"
                + (f", {pages.get('tribe_initiatives', 0):,} initiatives"
                   if name.startswith("tribe_page") else "")
            )
            who = ", logged in" if entry.get("logged_in") else ""
            processes = pages.get("web_processes") or 1
            shown = f", {processes} serving processes" if processes > 1 else ""
            label = f"{name} ({size}, {pages['connections']} clients{who}{shown})"
            for figure in ("requests_per_s", "p50_ms", "p95_ms", "serve_cpu_ms_per_request",
                           "busy_cores"):
                lines.append(f"| {label} | {figure} | {_fmt(entry.get(figure))} |")
        if "error" in pages:
            lines.append(f"| pages | | {pages['error']} |")
    lines += _scale_rows(results.get("scale"))
    memory = results.get("memory", {})
    if memory:
        lines += ["", "| peak RSS per scenario (MB) | largest process | sum of its processes |",
                  "|---|---:|---:|"]
        for name, peaks in memory.items():
            values = [v for v in peaks.values() if v is not None]
            if values:
                largest = max(peaks, key=lambda k: peaks[k] or 0)
                lines.append(f"| {name} | {_fmt(max(values))} ({largest}) | "
                             f"{_fmt(round(sum(values), 1))} ({len(values)} processes) |")
    ratio_lines = results.get("ratios", {})
    if ratio_lines:
        lines += ["", "| ratio to the machine's limit | value |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in ratio_lines.items()]
    return "\n".join(lines)


def _inbox_default_rows(entry: dict[str, Any] | None, key: str = "inbox_default") -> list[str]:
    """Table rows of the default deployment (or the inline variant) under the realistic mix."""
    if not entry:
        return []
    if "accept" not in entry:
        return [f"| {key} | | {entry.get('skipped') or entry.get('error')} |"]
    workers = "worker child" if entry.get("mode", "process") == "process" else "inline workers"
    label = (f"{key} (SQLite, {workers}, {entry['activities']:,} activities, "
             f"{entry['unknown_actors']:,} unseen actors, {entry['connections']} connections)")
    rows = [
        ("accepted_per_s", entry.get("accepted_per_s")),
        ("processed_per_s" + ("" if entry.get("drained", True) else
                              f" (so far: not drained within {entry.get('drain_limit_s')} s)"),
         entry.get("processed_per_s")),
        ("accept p50 / p99 ms, overall",
         f"{_fmt(entry['accept']['p50_ms'])} / {_fmt(entry['accept']['p99_ms'])}"),
        ("accept p50 / p99 ms, while one server stalls",
         f"{_fmt(entry['accept_during_stall']['p50_ms'])} / "
         f"{_fmt(entry['accept_during_stall']['p99_ms'])}"),
        (f"accept p50 / p99 ms, while one server stalls, at a steady "
         f"{_fmt(_get(entry, 'accept_steady_during_stall', 'rate_per_s'))}/s",
         f"{_fmt(_get(entry, 'accept_steady_during_stall', 'p50_ms'))} / "
         f"{_fmt(_get(entry, 'accept_steady_during_stall', 'p99_ms'))}"),
        ("stalled accepts (unseen actors of the slow server) p50 ms",
         entry["stalled_accepts"]["p50_ms"]),
        ("C2S post while one server stalls p50 / p95 ms",
         f"{_fmt(_get(entry, 'c2s_post_during_stall', 'p50_ms'))} / "
         f"{_fmt(_get(entry, 'c2s_post_during_stall', 'p95_ms'))}"),
        ("CPU ms per accepted (serve) / per processed (worker)",
         f"{_fmt(entry.get('cpu_ms_per_accept'))} / {_fmt(entry.get('cpu_ms_per_processed'))}"),
        ("cores busy (whole machine) while the mix arrived as fast as answered",
         entry.get("busy_cores")),
        ("processed / accepted",
         f"{_fmt(entry.get('processed'))} / "
         f"{_fmt(entry['accepted'] + entry['mix']['slow_new_actor_notes'])}"),
        ("peak RSS serve / worker / remote servers MB",
         f"{_fmt(entry['peak_rss_mb'].get('serve'))} / "
         f"{_fmt(entry['peak_rss_mb'].get('worker'))} / "
         f"{_fmt(entry.get('remote_servers_rss_mb'))}"),
    ]
    return [f"| {label} | {name} | {_fmt(value)} |" for name, value in rows]


def _scale_rows(entry: dict[str, Any] | None) -> list[str]:
    """Table rows of the scale scenario: each figure at both sizes and the growth."""
    if not entry:
        return []
    if "runs" not in entry:
        return [f"| scale | | {entry.get('skipped') or entry.get('error')} |"]
    small, large = entry["runs"][str(entry["small"])], entry["runs"][str(entry["large"])]
    out = []
    for figure, ratio in entry["ratios"].items():
        out.append(
            f"| scale ({entry['small']:,} -> {entry['large']:,} stored rows) | {figure} | "
            f"{_fmt(small.get(figure))} -> {_fmt(large.get(figure))} (x{_fmt(ratio)}) |"
        )
    out.append(f"| scale | bulk seeding s ({entry['large']:,} rows) | "
               f"{_fmt(large.get('seed_s'))} |")
    return out


def _mix_cost_rows(entry: dict[str, Any] | None) -> list[str]:
    """Table rows of the mix_costs scenario: the worker's cost of each kind of activity."""
    if not entry:
        return []
    if "kinds" not in entry:
        return [f"| mix costs | | {entry.get('skipped') or entry.get('error')} |"]
    out = []
    for kind, row in entry["kinds"].items():
        out.append(
            f"| mix costs ({entry['count']} of each, in the worker) | {kind}: CPU ms, "
            f"statements, remote GETs, deliveries (their CPU ms) per activity | "
            f"{_fmt(row['worker_cpu_ms'])}, {_fmt(row['statements'])}, "
            f"{_fmt(row['remote_gets'])}, {_fmt(row['deliveries'])} "
            f"({_fmt(row['delivery_cpu_ms'])}) |"
        )
    if "mix_cpu_ms" in entry:
        out.append(f"| mix costs | the mix's shares: worker CPU ms per activity | "
                   f"{_fmt(entry['mix_cpu_ms'])} |")
    return out


def _hostile_rows(entry: dict[str, Any] | None) -> list[str]:
    """Table rows of the hostile peer's flood and what the friendly senders met meanwhile."""
    if not entry:
        return []
    if "hostile" not in entry:
        return [f"| inbox_hostile | | {entry.get('skipped') or entry.get('error')} |"]
    label = (f"inbox_hostile (default deployment, {entry['known_actors']:,} known actors at "
             f"{_fmt(entry['friendly_rate_per_s'])}/s; the flood on "
             f"{entry['hostile_connections']} connections, {entry['idle_connections']} "
             f"half-open)")
    alone, attacked, flood = (entry["friendly_alone"], entry["friendly_under_attack"],
                              entry["hostile"])
    statuses = ", ".join(f"{code}: {count:,}" for code, count in flood["statuses"].items())
    rows = [
        ("friendly accepts p50 / p99 ms, alone",
         f"{_fmt(alone['p50_ms'])} / {_fmt(alone['p99_ms'])}"),
        ("friendly accepts p50 / p99 ms, during the flood",
         f"{_fmt(attacked['p50_ms'])} / {_fmt(attacked['p99_ms'])}"),
        ("friendly statuses during the flood",
         ", ".join(f"{code}: {count:,}" for code, count in attacked["statuses"].items())),
        ("hostile requests refused per s", flood["per_s"]),
        ("hostile statuses (forged, unsigned, bad digest: 401; not JSON: 400; too large: 413)",
         statuses),
        ("CPU ms of fedi serve per refused request", entry.get("serve_cpu_ms_per_hostile")),
        ("GETs to the named servers per forged signature",
         entry.get("remote_gets_per_forged")),
        ("cores busy (whole machine), alone / during the flood",
         f"{_fmt(alone.get('busy_cores'))} / {_fmt(attacked.get('busy_cores'))}"),
        ("half-open connections still open at the end", entry["idle_connections_still_open"]),
        ("inbox rows stored beyond the friendly activities", entry["stored_beyond_friendly"]),
    ]
    return [f"| {label} | {name} | {_fmt(value)} |" for name, value in rows]


def write_report(results: dict[str, Any]) -> None:
    """results.json and BENCHMARKS.md (template with the table of this run)."""
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    template = TEMPLATE.read_text() if TEMPLATE.exists() else "# Benchmarks\n\n{{TABLE}}\n"
    REPORT.write_text(template.replace("{{TABLE}}", table(results)))


def run(selected: list[str], quick: bool, server: str, work: Path) -> dict[str, Any]:
    """Run the selected scenarios; a failing scenario is recorded, the others still run."""
    sizes = QUICK if quick else FULL
    results: dict[str, Any] = {"quick": quick, "machine": machine(), "memory": {}}
    started = time.perf_counter()

    def attempt(name: str, job: Any) -> None:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = job()
        except Exception as exc:  # one broken scenario must not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr,
              flush=True)

    if "limits" in selected:
        attempt("limits", lambda: limits.measure(quick=quick, server=server))
    if "inbox" in selected:
        attempt("inbox", lambda: scenarios.inbox(work, db="sqlite", server=server,
                                                 **sizes["inbox"]))
    for key, workers in (("inbox_pg", 1), ("inbox_pg_workers", 2)):
        if key not in selected:
            continue
        if postgres_available():
            attempt(key, lambda workers=workers: scenarios.inbox(
                work, db="postgresql", server=server, workers=workers, **sizes["inbox"]))
        else:
            results[key] = {"skipped": "PostgreSQL is not running on 127.0.0.1:5432"}
    if "inbox_default" in selected:
        attempt("inbox_default", lambda: inbox_default(work, server=server,
                                                       **sizes["inbox_default"]))
    if "inbox_inline" in selected:
        # The same mix with the workers in the server's own event loop (the former default).
        attempt("inbox_inline", lambda: inbox_default(work, server=server, mode="inline",
                                                      **sizes["inbox_default"]))
    if "fanout" in selected:
        attempt("fanout", lambda: scenarios.fanout(work, server=server, delays_ms=[0, 200],
                                                   **sizes["fanout"]))
    if "fanout_large" in selected:
        attempt("fanout_large", lambda: scenarios.fanout(
            work, server=server, delays_ms=[0], timeout=120, **sizes["fanout_large"]))
    if "pages" in selected:
        attempt("pages", lambda: scenarios.pages(work, server=server, **sizes["pages"]))
    if "scale" in selected:
        attempt("scale", lambda: scale(work, server=server, **sizes["scale"]))
    if "mix_costs" in selected:
        attempt("mix_costs", lambda: mix_costs.measure(work, server=server,
                                                       **sizes["mix_costs"]))
    if "inbox_hostile" in selected:
        attempt("inbox_hostile", lambda: inbox_hostile(work, server=server,
                                                       **sizes["inbox_hostile"]))
    for key in ("inbox", "inbox_pg", "inbox_pg_workers", "inbox_default", "inbox_inline",
                "pages", "scale", "inbox_hostile"):
        peaks = _get(results, key, "peak_rss_mb")
        if isinstance(peaks, dict):
            results["memory"][key] = peaks
    for key in ("fanout", "fanout_large"):
        for delay, entry in (_get(results, key, "runs") or {}).items():
            results["memory"][f"{key}_{delay}"] = entry.get("peak_rss_mb", {})
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["ratios"] = ratios(results)
    results["headline"] = headline(results)
    results["targets"] = verdicts(results["headline"])
    return results


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (development)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--server", default=None, help="uvicorn or hypercorn (default: as serve)")
    parser.add_argument("--no-report", action="store_true",
                        help="only print the tables: do not write results.json / BENCHMARKS.md")
    args = parser.parse_args(argv)
    selected = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(selected) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    from fedi.cli.serve_commands import server_choice
    from fedi.settings import Settings

    server = server_choice(args.server or Settings.from_env().server)
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as folder:
        results = run(selected, args.quick, server, Path(folder))
    results["server"] = server
    if not args.no_report:
        write_report(results)
    print(table(results), file=sys.stderr)
    print(orjson.dumps(results["headline"]).decode(), flush=True)


if __name__ == "__main__":
    main()
