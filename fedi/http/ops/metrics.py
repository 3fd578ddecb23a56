"""``/metrics``: Prometheus figures for requests, the inbox and the delivery queue.

Two sources, so the figures are right with the worker in another process:

* requests (count by route, method and status; latency histograms by route) are counted
  in memory by the process that serves them (:class:`HttpMetrics`, fed by the request log
  middleware), with that process's CPU and memory;
* the inbox (accepted, processed by outcome), the deliveries (by outcome, by domain for the
  ``TOP_DOMAINS`` busiest domains only) and the queues (due rows, age of the oldest) are
  counted from their rows when scraped (``fedi.http.ops.queues``), at most once per
  ``SNAPSHOT_SECONDS``, because the worker that processes them is usually another process.

The endpoint is off (404) unless ``FEDI_METRICS_TOKEN`` or ``FEDI_METRICS_ALLOW`` is set;
with a token a request needs ``Authorization: Bearer <token>`` (401 otherwise), with
allowed addresses it must come from one of them (404 otherwise), with both it needs both.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from quart import Blueprint, Response, abort, request

from fedi.http.ops.queues import QueueSnapshot, read_snapshot
from fedi.http.web.auth import client_ip
from fedi.settings import Settings
from fedi.state import Slot, get_state
from models import utcnow

__all__ = ["METRICS", "HttpMetrics", "Metrics", "blueprint"]

blueprint = Blueprint("ops_metrics", __name__)

# Deliveries by domain are reported for this many domains; the rest are summed.
TOP_DOMAINS = 20
# The database counts are reused for this long, so frequent scrapes stay cheap.
SNAPSHOT_SECONDS = 10.0
# Page and inbox latencies: a few milliseconds for a cached page up to slow renders.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INBOX_OUTCOMES = ("done", "failed", "ignored")
DELIVERY_OUTCOMES = ("delivered", "failed", "gave_up", "gone")


class HttpMetrics:
    """Requests served by this process, by route (the URL rule, not the path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the request counter and the latency histogram on ``registry``."""
        self.requests = Counter(
            "fedi_http_requests", "HTTP requests served by this process.",
            ("method", "route", "status"), registry=registry,
        )
        self.latency = Histogram(
            "fedi_http_request_duration_seconds",
            "Time from request to the end of the response, by route.",
            ("method", "route"), buckets=LATENCY_BUCKETS, registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        method = method if method in KNOWN_METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class QueueCollector(Collector):
    """Turns the latest :class:`QueueSnapshot` into metric families at scrape time."""

    def __init__(self) -> None:
        """Start without figures (nothing is reported until the first scrape reads them)."""
        self.snapshot: QueueSnapshot | None = None
        self.read_at = 0.0

    def collect(self) -> Iterator[Metric]:
        """The queue figures of the latest snapshot."""
        snap = self.snapshot
        if snap is None:
            return
        yield _counter("fedi_inbox_accepted",
                       "Activities accepted into the inbox queue (all rows).",
                       sum(snap.inbox_states.values()))
        yield _by_outcome("fedi_inbox_processed", "Inbox activities processed, by outcome.",
                          snap.inbox_states, INBOX_OUTCOMES)
        yield _gauge("fedi_inbox_pending", "Inbox activities not processed yet.",
                     snap.inbox_states.get("pending", 0))
        yield _gauge("fedi_inbox_due", "Inbox activities due for processing now.",
                     snap.ages.inbox_due)
        yield _gauge("fedi_inbox_oldest_due_age_seconds",
                     "How long the oldest due inbox activity has waited.",
                     snap.ages.inbox_oldest_due_seconds)
        yield _counter("fedi_deliveries_queued",
                       "Deliveries queued (one activity to one inbox; all rows).",
                       sum(snap.delivery_states.values()))
        yield _by_outcome("fedi_deliveries_finished", "Deliveries finished, by outcome.",
                          snap.delivery_states, DELIVERY_OUTCOMES)
        yield _gauge("fedi_delivery_pending", "Deliveries not finished yet.",
                     snap.delivery_states.get("pending", 0))
        yield _gauge("fedi_delivery_due", "Deliveries due now (paused domains left out).",
                     snap.ages.delivery_due)
        yield _gauge("fedi_delivery_oldest_due_age_seconds",
                     "How long the oldest due delivery has waited (paused domains left out).",
                     snap.ages.delivery_oldest_due_seconds)
        yield _gauge("fedi_delivery_paused_domains",
                     "Domains whose deliveries are paused after repeated failures.",
                     snap.paused_domains)
        by_domain = GaugeMetricFamily(
            "fedi_deliveries_by_domain",
            f"Deliveries by state for the {TOP_DOMAINS} domains with the most; "
            "the rest summed as (other).",
            labels=["domain", "state"],
        )
        for domain, state, rows in snap.by_domain:
            by_domain.add_metric([domain, state], rows)
        yield by_domain


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _by_outcome(
    name: str, documentation: str, states: dict[str, int], outcomes: tuple[str, ...]
) -> CounterMetricFamily:
    """A counter of finished queue rows, one series per ``outcome`` (0 when none)."""
    family = CounterMetricFamily(name, documentation, labels=["outcome"])
    for outcome in outcomes:
        family.add_metric([outcome], states.get(outcome, 0))
    return family


class Metrics:
    """One app's registry: this process's requests plus the queues read from the database."""

    def __init__(self) -> None:
        """A registry of our own (two apps in one test process never share figures)."""
        # No ``*_created`` series beside each counter: they double the series for a figure
        # Prometheus does not need (it notices restarts itself).
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self.http = HttpMetrics(self.registry)
        ProcessCollector(registry=self.registry)
        self.queues = QueueCollector()
        self.registry.register(self.queues)


METRICS: Slot[Metrics] = Slot("metrics")


def address_allowed(settings: Settings, address: str) -> bool:
    """Whether ``address`` is in one of the ``FEDI_METRICS_ALLOW`` networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # A server listening on :: sees IPv4 callers as ::ffff:a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net) for net in settings.metrics_allow)


def token_matches(settings: Settings, authorization: str) -> bool:
    """Whether the ``Authorization`` header carries the metrics token (in constant time)."""
    scheme, _, token = authorization.partition(" ")
    expected = settings.metrics_token or ""
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


@blueprint.get("/metrics")
async def metrics() -> Response:
    """The figures in Prometheus' text format, for those allowed (see the module notes)."""
    state = get_state()
    settings = state.settings
    collected = state.get(METRICS)
    if collected is None or not settings.metrics_enabled:
        abort(404)
    # The same address the rate limits use (X-Forwarded-For only when trusted).
    if settings.metrics_allow and not address_allowed(settings, client_ip()):
        abort(404)
    if settings.metrics_token and not token_matches(
        settings, request.headers.get("Authorization", "")
    ):
        return Response(
            "a bearer token is needed\n", status=401, content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    queues = collected.queues
    if queues.snapshot is None or time.monotonic() - queues.read_at >= SNAPSHOT_SECONDS:
        async with state.db.session() as db:
            queues.snapshot = await read_snapshot(db, utcnow(), top=TOP_DOMAINS)
        queues.read_at = time.monotonic()
    return Response(generate_latest(collected.registry), content_type=CONTENT_TYPE_LATEST)
