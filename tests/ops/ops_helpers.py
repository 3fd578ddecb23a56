"""Helpers of the operations tests: scraping ``/metrics`` and adding queue rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from fedi.state import FediApp
from models import Delivery, InboxItem, OutboxActivity
from tests.tribe_helpers import make_person

METRICS_TOKEN = "ops-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The app's metrics, parsed (fails on anything but 200)."""
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return samples(await response.get_data(as_text=True))


async def add_inbox_item(app: FediApp, n: int, state: str, next_try_at: datetime) -> None:
    """One received activity in ``state``, due at ``next_try_at``."""
    async with app.state.db.session() as db:
        db.add(InboxItem(
            ap_id=f"https://remote.example/activities/{n}", type="Like",
            actor_ap_id="https://remote.example/users/r", payload={"type": "Like"},
            state=state, next_try_at=next_try_at,
        ))


async def add_deliveries(
    app: FediApp, rows: list[tuple[str, str]], next_try_at: datetime | None = None
) -> None:
    """Deliveries of one activity, one per (domain, state) in ``rows``."""
    actor = await make_person(app, "sender")
    async with app.state.db.session() as db:
        activity = OutboxActivity(
            ap_id=f"{app.state.settings.base_url}/activities/ops-{len(rows)}", actor_id=actor.id,
            type="Create", payload={"type": "Create"},
        )
        db.add(activity)
        await db.flush()
        for n, (domain, state) in enumerate(rows):
            extra: dict[str, Any] = {"next_try_at": next_try_at} if next_try_at else {}
            db.add(Delivery(
                activity_id=activity.id, inbox_url=f"https://{domain}/inbox/{n}",
                domain=domain, state=state, **extra,
            ))
