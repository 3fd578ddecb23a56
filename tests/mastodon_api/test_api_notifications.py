"""Notifications and markers through the Mastodon API (issue 14): the kinds the social
side makes (mention, reply, like, boost, follow) mapped to Mastodon's types, filters,
paging, dismiss and clear; kinds without a Mastodon type are left out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fedi.domain import follows, notifications
from models import Notification
from tests.mastodon_api.oauth_helpers import bearer
from tests.mastodon_api.status_helpers import (
    MS_TIMESTAMP,
    NOTIFICATION_FIELDS,
    get_json,
    link_of,
    person_token,
    post_status,
    status_problems,
)
from tests.tribe_helpers import actor_named

pytestmark = pytest.mark.db


async def _busy_alice(app: Any, client: Any) -> tuple[str, str, dict[str, Any]]:
    """Bob mentions, likes, boosts and follows alice; returns (alice, bob, her status)."""
    _, alice = await person_token(app, "alice")
    _, bob = await person_token(app, "bob")
    status = await post_status(client, alice, status="Wie helpt?")
    await post_status(client, bob, status="Ik! @alice", in_reply_to_id=status["id"])
    await post_status(client, bob, status=f"Hoi @alice@{app.state.settings.host}")
    for action in ("favourite", "reblog"):
        response = await client.post(
            f"/api/v1/statuses/{status['id']}/{action}", headers=bearer(bob)
        )
        assert response.status_code == 200
    async with app.state.db.session() as db:
        await follows.follow(
            db, app.state, await actor_named(db, "bob"), await actor_named(db, "alice")
        )
        # A kind with no Mastodon type: left out of the API.
        await notifications.notify(
            db, [await actor_named(db, "alice")], "task_added",
            by=await actor_named(db, "bob"), payload={"initiative": "Plein"},
        )
    return alice, bob, status


async def test_types_filters_and_raw_fields(app: Any, client: Any) -> None:
    """Every notification has the entity's fields; ``types[]`` and ``exclude_types[]``
    filter; the unmapped kind is not listed."""
    alice, _, status = await _busy_alice(app, client)
    listed = await get_json(client, "/api/v1/notifications", alice)
    types = [n["type"] for n in listed]
    assert types == ["follow", "reblog", "favourite", "mention", "mention"], types
    for entity in listed:
        assert not [f for f in NOTIFICATION_FIELDS if f not in entity]
        assert MS_TIMESTAMP.match(entity["created_at"])
        assert entity["account"]["acct"] == "bob"
        if entity["type"] == "follow":
            assert entity["status"] is None
        else:
            assert status_problems(entity["status"]) == []
    assert listed[1]["status"]["id"] == status["id"]
    assert listed[2]["status"]["id"] == status["id"]
    only = await get_json(
        client, "/api/v1/notifications?types[]=mention&types[]=follow", alice
    )
    assert [n["type"] for n in only] == ["follow", "mention", "mention"]
    without = await get_json(client, "/api/v1/notifications?exclude_types[]=mention", alice)
    assert [n["type"] for n in without] == ["follow", "reblog", "favourite"]
    async with app.state.db.session() as db:
        kinds = set((await db.scalars(select(Notification.kind))).all())
    assert "task_added" in kinds and "reply" in kinds
    assert (await get_json(client, "/api/v1/notifications/unread_count", alice))["count"] == 5


async def test_paging_show_dismiss_clear(app: Any, client: Any) -> None:
    """Pages by id with ``Link``; one by id; dismiss one; clear all; others' are 404."""
    alice, bob, _ = await _busy_alice(app, client)
    first = await client.get(
        "/api/v1/notifications?limit=2&exclude_types[]=follow", headers=bearer(alice)
    )
    page = await first.get_json()
    assert [n["type"] for n in page] == ["reblog", "favourite"]
    older = link_of(first, "next")
    assert older is not None and "exclude_types%5B%5D=follow" in older
    rest = await get_json(client, older, alice)
    assert [n["type"] for n in rest] == ["mention", "mention"]
    newer = await get_json(client, link_of(first, "prev") or "", alice)
    assert newer == []
    one = await get_json(client, f"/api/v1/notifications/{page[0]['id']}", alice)
    assert one["id"] == page[0]["id"]
    await get_json(client, f"/api/v1/notifications/{page[0]['id']}", bob, status=404)
    dismissed = await client.post(
        f"/api/v1/notifications/{page[0]['id']}/dismiss", headers=bearer(alice)
    )
    assert dismissed.status_code == 200
    await get_json(client, f"/api/v1/notifications/{page[0]['id']}", alice, status=404)
    cleared = await client.post("/api/v1/notifications/clear", headers=bearer(alice))
    assert cleared.status_code == 200
    assert await get_json(client, "/api/v1/notifications", alice) == []


async def test_markers(app: Any, client: Any) -> None:
    """Markers are saved per timeline (form and JSON) and versioned."""
    _, alice = await person_token(app, "alice")
    assert await get_json(client, "/api/v1/markers?timeline[]=home", alice) == {}
    saved = await client.post(
        "/api/v1/markers", form={"home[last_read_id]": "1234"}, headers=bearer(alice)
    )
    assert saved.status_code == 200
    body = await saved.get_json()
    assert body["home"]["last_read_id"] == "1234" and body["home"]["version"] == 0
    assert MS_TIMESTAMP.match(body["home"]["updated_at"])
    again = await client.post(
        "/api/v1/markers", json={"home": {"last_read_id": "1300"},
                                 "notifications": {"last_read_id": "7"}},
        headers=bearer(alice),
    )
    both = await again.get_json()
    assert both["home"] == {**both["home"], "last_read_id": "1300", "version": 1}
    assert both["notifications"]["last_read_id"] == "7"
    read = await get_json(
        client, "/api/v1/markers?timeline[]=home&timeline[]=notifications", alice
    )
    assert read["home"]["last_read_id"] == "1300" and read["notifications"]["version"] == 0
    empty = await client.post("/api/v1/markers", form={}, headers=bearer(alice))
    assert empty.status_code == 422
