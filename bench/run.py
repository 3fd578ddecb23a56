"""``python -m bench.run`` (``make bench``): limits, scenarios, results.json, BENCHMARKS.md.

``--quick`` runs every scenario at a small size (for development and the smoke test);
``--only inbox,fanout`` picks scenarios. The last line printed is one JSON object with the
headline figures (keys in ``HEADLINE_KEYS``), ``null`` where a scenario did not run.
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

from bench import limits, scenarios
from bench.instance import postgres_available

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
TEMPLATE = ROOT / "bench" / "BENCHMARKS.template.md"
REPORT = ROOT / "BENCHMARKS.md"
SCENARIOS = ("limits", "inbox", "inbox_pg", "fanout", "pages")
HEADLINE_KEYS = (
    "inbox_accepted_per_s", "inbox_processed_per_s", "inbox_p99_ms", "fanout_0ms_s",
    "fanout_200ms_s", "tribe_page_p95_ms", "actor_json_p95_ms", "peak_rss_mb",
    "rsa_sign_per_s", "rsa_verify_per_s",
)

FULL = {
    "inbox": {"activities": 12_000, "actors": 1_000, "domains": 100, "connections": 64},
    "fanout": {"followers": 10_000, "servers": 500},
    "pages": {"members": 10_000, "initiatives": 1_000, "comments": 500, "duration": 6.0},
}
QUICK = {
    "inbox": {"activities": 300, "actors": 40, "domains": 8, "connections": 16},
    "fanout": {"followers": 200, "servers": 20},
    "pages": {"members": 200, "initiatives": 20, "comments": 50, "duration": 1.0},
}
# The pages scenario's figures, in table order (anonymous and logged-in HTML, then JSON).
PAGE_FIGURES = (
    "tribe_page", "tribe_page_member", "initiative_page", "initiative_page_member",
    "tribe_actor_json", "actor_json",
)
TARGETS = {
    "inbox_accepted_per_s": (">=", 1500), "inbox_processed_per_s": (">=", 1000),
    "inbox_p99_ms": ("<", 200), "fanout_0ms_s": ("<", 3), "fanout_200ms_s": ("<", 5),
    "tribe_page_p95_ms": ("<", 50), "actor_json_p95_ms": ("<", 20), "peak_rss_mb": ("<", 200),
}


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


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The one-line summary (all keys always present)."""
    peaks = [
        value
        for scenario in results.get("memory", {}).values()
        for name, value in scenario.items()
        if name == "serve" and value is not None
    ]
    return {
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
    for key in ("inbox", "inbox_pg"):
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
            f"{f'{target[0]} {target[1]:,}' if target else '(limit)'} | "
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
    for key in ("inbox", "inbox_pg"):
        entry = results.get(key)
        if not entry:
            continue
        if "skipped" in entry or "error" in entry:
            lines.append(f"| {key} | | {entry.get('skipped') or entry.get('error')} |")
            continue
        label = f"inbox ({entry['database']}, {entry['activities']:,} activities, " \
                f"{entry['connections']} connections)"
        for figure in ("accepted_per_s", "processed_per_s", "p50_ms", "p99_ms"):
            lines.append(f"| {label} | {figure} | {_fmt(entry.get(figure))} |")
        lines.append(f"| {label} | peak RSS serve / worker MB | "
                     f"{_fmt(entry['peak_rss_mb'].get('serve'))} / "
                     f"{_fmt(entry['peak_rss_mb'].get('worker'))} |")
    fan = results.get("fanout")
    if fan:
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
                lines.append(f"| {label} | peak RSS serve / worker MB | "
                             f"{_fmt(run['peak_rss_mb'].get('serve'))} / "
                             f"{_fmt(run['peak_rss_mb'].get('worker'))} |")
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
            label = f"{name} ({size}, {pages['connections']} clients{who})"
            for figure in ("requests_per_s", "p50_ms", "p95_ms"):
                lines.append(f"| {label} | {figure} | {_fmt(entry.get(figure))} |")
        if "error" in pages:
            lines.append(f"| pages | | {pages['error']} |")
    ratio_lines = results.get("ratios", {})
    if ratio_lines:
        lines += ["", "| ratio to the machine's limit | value |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in ratio_lines.items()]
    return "\n".join(lines)


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
    if "inbox_pg" in selected:
        if postgres_available():
            attempt("inbox_pg", lambda: scenarios.inbox(work, db="postgresql", server=server,
                                                        **sizes["inbox"]))
        else:
            results["inbox_pg"] = {"skipped": "PostgreSQL is not running on 127.0.0.1:5432"}
    if "fanout" in selected:
        attempt("fanout", lambda: scenarios.fanout(work, server=server, delays_ms=[0, 200],
                                                   **sizes["fanout"]))
    if "pages" in selected:
        attempt("pages", lambda: scenarios.pages(work, server=server, **sizes["pages"]))
    for key in ("inbox", "inbox_pg", "pages"):
        peaks = _get(results, key, "peak_rss_mb")
        if isinstance(peaks, dict):
            results["memory"][key] = peaks
    for delay, entry in (_get(results, "fanout", "runs") or {}).items():
        results["memory"][f"fanout_{delay}"] = entry.get("peak_rss_mb", {})
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
                        help="do not write results.json / BENCHMARKS.md")
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
