"""Smoke test of the benchmark suite: tiny sizes, structure only (nothing is timed).

Keeps ``bench/`` from rotting as the app changes: the load generator against the raw
responder, and a small fan-out through real ``fedi serve`` + ``fedi worker`` processes to
loopback sinks (a tribe announcing an initiative started through its web form), then the
headline line built from those results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import limits, run, scenarios

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
    # The discussed initiative's page holds its newest comments, not all of them.
    assert pages["initiative_page"]["path"] == "/initiatives/1"
    assert pages["peak_rss_mb"]["serve"] > 0
    results = {
        "quick": True, "pages": pages, "memory": {"pages": pages["peak_rss_mb"]},
        "machine": {"date": "", "commit": "", "nproc": 2, "cpu": "", "memory": "",
                    "python": "", "load_average_at_start": 0.0},
        "duration_s": 1.0,
    }
    results["headline"] = run.headline(results)
    assert results["headline"]["tribe_page_p95_ms"] == pages["tribe_page"]["p95_ms"]
    text = run.table(results)
    assert "initiative_page (30 comments, 4 clients)" in text
    assert "tribe_page_member (20 members, 8 initiatives, 4 clients, logged in)" in text
