"""Smoke test of the benchmark suite: tiny sizes, structure only (nothing is timed).

Keeps ``bench/`` from rotting as the app changes: the load generator against the raw
responder, and a small fan-out through real ``fedi serve`` + ``fedi worker`` processes to
loopback sinks, then the headline line built from those results.
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
    # Followers collapse onto shared inboxes: one signed POST per server, not per follower.
    assert run_0["requests_received"] == 3
    assert run_0["delivery_rows"] == 3
    assert run_0["peak_rss_mb"]["serve"] > 0
    results = {"fanout": fan, "memory": {"fanout_0ms": run_0["peak_rss_mb"]}}
    head = run.headline(results)
    assert set(head) == set(run.HEADLINE_KEYS)
    assert head["fanout_0ms_s"] == run_0["seconds"]
    assert head["inbox_accepted_per_s"] is None
