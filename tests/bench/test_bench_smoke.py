"""Smoke test of the benchmark suite: tiny sizes, structure only (nothing is timed).

Keeps ``bench/`` from rotting as the app changes: the load generator against the raw
responder, and a small fan-out through real ``fedi serve`` + ``fedi worker`` processes to
loopback sinks (a tribe announcing an initiative started through its web form), then the
headline line built from those results.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench import limits, run, scenarios
from bench.default_inbox import inbox_default
from bench.instance import MachineBusy, busy_cpu_seconds, postgres_cpu_seconds, run_async
from bench.scale import scale
from fedi.settings import AUTO_WEB_PROCESSES_MAX
from tests.conftest import missing_service, postgres_available

pytestmark = pytest.mark.live


def test_loadgen_against_raw_responder() -> None:
    result = limits.bare_asgi("raw", 0.3, 4)
    assert result["server"] == "raw"
    assert result["requests_per_s"] > 0
    assert 0 <= result["loadgen_cpu_share"]


def test_quick_fanout_and_headline(tmp_path: Path) -> None:
    fan = scenarios.fanout(
        tmp_path, server="uvicorn", followers=12, servers=3, delays_ms=[0], timeout=60
    )
    run_0 = fan["runs"]["0ms"]
    assert run_0["complete"] is True
    # The tribe announces the initiative twice (Announce{Create{Page}} and the Mastodon boost
    # Announce{page id}); followers collapse onto shared inboxes: one signed POST per
    # announce and server, never per follower.
    assert run_0["request_types"] == {"Announce(Create)": 3, "Announce": 3}
    assert run_0["requests_received"] == run_0["delivery_rows"] == 6
    assert run_0["distinct_signatures"] == 6
    assert run_0["max_requests_per_inbox"] == 2
    assert run_0["retries"] == 0
    assert run_0["seconds"] >= run_0["first_announce_s"] > 0
    assert run_0["peak_rss_mb"]["serve"] > 0
    results = {"fanout": fan, "memory": {"fanout_0ms": run_0["peak_rss_mb"]}}
    head = run.headline(results)
    assert set(head) == set(run.HEADLINE_KEYS)
    assert head["fanout_0ms_s"] == run_0["seconds"]
    assert head["inbox_accepted_per_s"] is None


def test_tiny_default_deployment_mix(tmp_path: Path) -> None:
    result = inbox_default(
        tmp_path, server="uvicorn", activities=60, known=5, unknown=5, domains=2,
        connections=4, slow_connections=2, slow_requests=4, slow_delay=0.5,
        drain_limit_s=60, steady_count=20, steady_rate=20.0,
    )
    # The default deployment: fedi serve with its worker child, both measured.
    assert result["mode"] == "process" and "worker child" in result["worker"]
    assert result["peak_rss_mb"]["worker"] > 0
    assert result["errors"] == 0
    assert result["statuses"]["calm"] == {"202": 30} and result["statuses"]["stall"] == {"202": 30}
    # Every accepted activity, the stalled ones too, left pending.
    assert result["processed_per_s"] is not None
    assert "pending" not in result["item_states"]
    # Never-seen actors were fetched from the fast servers; the slow server's accepts waited.
    assert result["remote_requests"]["fast_get"] > 0
    assert result["stalled_accepts"]["count"] >= 2
    assert result["stalled_accepts"]["p50_ms"] >= 500
    assert result["c2s_post_during_stall"]["statuses"] == {
        "201": result["c2s_post_during_stall"]["count"]}
    assert result["peak_rss_mb"]["serve"] > 0
    results = {"inbox_default": result, "memory": {"inbox_default": result["peak_rss_mb"]}}
    head = run.headline(results)
    assert head["inbox_default_stall_p99_ms"] == result["accept_during_stall"]["p99_ms"]
    steady = result["accept_steady_during_stall"]
    # The steady phase sent at its rate (20 at 20/s: about a second), all accepted.
    assert steady["accepted"] == steady["count"] == 20 and result["statuses"]["steady"] == {
        "202": 20}
    assert steady["elapsed_s"] >= 0.9
    assert head["inbox_default_steady_stall_p99_ms"] == steady["p99_ms"] > 0
    assert result["cpu_ms_per_accept"] > 0 and result["cpu_ms_per_processed"] > 0
    assert 0 < result["busy_cores"] <= (os.cpu_count() or 1) + 0.5
    assert head["peak_rss_sum_mb"] == round(sum(result["peak_rss_mb"].values()), 1)
    assert head["inbox_default_rss_mb"] == max(result["peak_rss_mb"].values())


def test_tiny_scale(tmp_path: Path) -> None:
    result = scale(
        tmp_path, server="uvicorn", small=100, large=2_000, activities=40, known=5, domains=2,
        connections=4, members=10, initiatives=4, comments=10, duration=0.3,
        page_connections=2,
    )
    large = result["runs"]["2000"]
    assert large["item_states"]["done"] >= 600  # the bulk-seeded items
    assert large["pages"]["tribe_page_member"]["statuses"] == {
        "200": sum(large["pages"]["tribe_page_member"]["statuses"].values())}
    assert set(result["ratios"]) == {"accepted_per_s", "processed_per_s", "accept_p99_ms",
                                     "tribe_page_member_p95_ms",
                                     "initiative_page_member_p95_ms"}
    assert result["worst_ratio"] is not None


def test_quick_pages_and_table(tmp_path: Path) -> None:
    pages = scenarios.pages(
        tmp_path, server="uvicorn", members=20, initiatives=8, comments=30, duration=0.3,
        connections=4,
    )
    for name in run.PAGE_FIGURES:
        entry = pages[name]
        assert "skipped" not in entry, entry
        assert set(entry["statuses"]) == {"200"} and entry["requests_per_s"] > 0
        assert entry["logged_in"] is name.endswith("_member")
        assert entry["serve_cpu_ms_per_request"] is not None  # CPU ticks: may round to 0
        # The whole machine's busy cores during the phase: the load makes some, and no more
        # than the machine has.
        assert 0 < entry["busy_cores"] <= (os.cpu_count() or 1) + 0.5
    # The discussed initiative's page holds its newest comments, not all of them.
    assert pages["initiative_page"]["path"] == "/initiatives/1"
    assert pages["peak_rss_mb"]["serve"] > 0
    # ``FEDI_WEB_PROCESSES=auto``: one serving process per core, each with its peak.
    processes = max(1, min(os.cpu_count() or 1, AUTO_WEB_PROCESSES_MAX))
    assert pages["web_processes"] == processes
    assert len([n for n in pages["peak_rss_mb"] if n.startswith("web")]) == processes - 1
    results = {
        "quick": True, "pages": pages, "memory": {"pages": pages["peak_rss_mb"]},
        "machine": {"date": "", "commit": "", "nproc": 2, "cpu": "", "memory": "",
                    "python": "", "load_average_at_start": 0.0},
        "duration_s": 1.0,
    }
    results["headline"] = run.headline(results)
    assert results["headline"]["tribe_page_p95_ms"] == pages["tribe_page"]["p95_ms"]
    text = run.table(results)
    shown = f", {processes} serving processes" if processes > 1 else ""
    assert f"initiative_page (30 comments, 4 clients{shown})" in text
    assert f"tribe_page_member (20 members, 8 initiatives, 4 clients, logged in{shown})" in text


def test_tiny_mix_costs(tmp_path: Path) -> None:
    from bench import mix_costs

    result = mix_costs.measure(tmp_path, server="uvicorn", count=6, domains=2,
                               statements=True)
    rows = result["kinds"]
    assert set(rows) == set(mix_costs.KINDS)
    for kind, row in rows.items():
        # Every activity was accepted and handled; none stayed behind.
        assert row["accepted"] == row["handled"] == 6, kind
        assert row["worker_cpu_ms"] > 0 and row["statements"] > 0, kind
        assert row["top_statements"], kind
    # A never-seen actor's key is fetched by the accept path; a follow is answered by an
    # Accept delivery; a mention the open tribe takes is announced to its followers.
    assert rows["note_unknown"]["remote_gets"] >= 1
    assert rows["follow"]["deliveries"] == 1
    assert rows["tribe_mention"]["deliveries"] >= 2
    assert result["mix_cpu_ms"] > 0
    assert run._mix_cost_rows(result)[-1].startswith("| mix costs | the mix's shares")


def test_busy_cores_count_a_spinning_process() -> None:
    """One process spinning for 0.4 s keeps about one core busy; the count never runs back."""
    before = busy_cpu_seconds()
    busy = MachineBusy()
    deadline = time.process_time() + 0.4
    while time.process_time() < deadline:
        pass
    cores = busy.cores()
    assert cores is not None and 0.8 <= cores <= (os.cpu_count() or 1) + 0.2
    assert busy_cpu_seconds() >= before + 0.35


def test_tiny_inbox_on_postgresql_counts_the_servers_cpu(tmp_path: Path) -> None:
    """The PostgreSQL inbox scenario reports the database server's CPU per activity beside
    our processes' and the machine's busy cores: the figures that say why a target is
    missed on two cores shared with the database."""
    if not postgres_available():
        missing_service("PostgreSQL is not running on 127.0.0.1:5432")
    assert postgres_cpu_seconds() > 0
    result = scenarios.inbox(
        tmp_path, db="postgresql", server="uvicorn", activities=40, actors=5, domains=2,
        connections=4, workers=2,
    )
    assert result["statuses"] == {"202": 40} and result["item_states"] == {"done": 45}
    costs = result["cpu_ms_per_activity"]
    assert set(costs) == {"serve", "worker", "worker2", "postgres"}
    assert costs["postgres"] > 0
    assert 0 < result["busy_cores"] <= (os.cpu_count() or 1) + 0.5
    results = {
        "quick": True, "inbox_pg_workers": result, "duration_s": 1.0,
        "machine": {"date": "", "commit": "", "nproc": 2, "cpu": "", "memory": "",
                    "python": "", "load_average_at_start": 0.0},
    }
    results["headline"] = run.headline(results)
    assert results["headline"]["inbox_pg_workers_processed_per_s"] == result["processed_per_s"]
    text = run.table(results)
    assert "CPU ms per activity serve / worker / worker2 / postgres" in text
    assert "cores busy (whole machine)" in text


def test_tiny_hostile_flood(tmp_path: Path) -> None:
    """The hostile peer's requests are all refused with the status their fault calls for,
    none is stored, every friendly activity is accepted, and a forged signature no longer
    makes us fetch the named actor's key each time."""
    from bench.hostile import inbox_hostile

    result = inbox_hostile(
        tmp_path, server="uvicorn", known=12, domains=3, friendly_rate=40.0, phase_s=1.0,
        hostile_connections=4, idle_connections=5, hostile_distinct=60,
    )
    assert result["friendly_alone"]["statuses"] == {"202": 40}
    assert result["friendly_under_attack"]["statuses"] == {"202": 40}
    refused = result["hostile"]["statuses"]
    assert set(refused) == {"400", "401", "413"} and result["hostile"]["completed"] > 60
    assert result["stored_beyond_friendly"] == 0 and result["drained"] is True
    # Each of the 12 actors' keys is fetched again at most once, whatever the flood's size.
    forged = result["hostile"]["completed"] * result["hostile_mix"]["forged"] / 60
    assert result["remote_gets_under_attack"] <= 2 * 12 + result["remote_gets_alone"] + 5
    assert result["remote_gets_per_forged"] < 1 and forged > 12
    assert result["idle_connections_still_open"] <= 5
    text = run._hostile_rows(result)
    assert any("GETs to the named servers per forged signature" in row for row in text)


def test_page_cost_in_process(tmp_path: Path) -> None:
    """The in-process cost of the member initiative page, with and without its conversation
    (how finding 16 measured the part no conversation setting removes)."""
    from bench import page_cost
    from fedi.http.web import initiatives as initiative_pages

    empty = run_async(page_cost.measure(
        tmp_path / "empty", shown=0, requests=5, members=20, initiatives=4, comments=120,
        profile=str(tmp_path / "empty.prof"),
    ))
    assert initiative_pages.TIMELINE_SHOWN == 20  # the page's own setting is back
    full = run_async(page_cost.measure(
        tmp_path / "full", requests=5, members=20, initiatives=4, comments=120,
    ))
    assert empty["status"] == full["status"] == 200
    assert empty["cpu_ms_per_page"] > 0 and (tmp_path / "empty.prof").stat().st_size > 0
    # The conversation is most of the page's bytes.
    assert full["bytes"] > 2 * empty["bytes"]
