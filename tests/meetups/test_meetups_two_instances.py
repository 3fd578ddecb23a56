"""Meetups across two real ``fedi serve`` processes on loopback ports.

bob on instance B follows the tribe ``plein`` on A (C2S ``Follow`` by handle, an open
tribe: he is a member). alice organises an event in the tribe (C2S ``Create{Event}`` with
the tribe as ``audience``); the tribe's announce brings it to B, where it becomes a remote
meetup. bob joins it (C2S ``Join``): A accepts, B records the ``Accept``, and bob's calendar
on B lists the event; A counts him among the participants. An update from alice then shows
on B.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    alice_and_bob,
    bob_joins_plein,
    outbox_post,
    tribe_plein,
    wait_for,
)

pytestmark = pytest.mark.live


def test_a_member_on_another_instance_joins_a_tribe_event(live_server_factory: Any) -> None:
    pair = alice_and_bob(live_server_factory)
    one, two, alice_token, bob_token = pair
    servers = [one, two]
    plein = tribe_plein(one)

    with httpx.Client(timeout=10) as client:
        def post(server: Any, name: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
            resp = outbox_post(client, server, name, token, body)
            assert resp.status_code == 201, resp.text
            return dict(resp.json())

        bob_joins_plein(client, pair)

        event_id = post(one, "alice", alice_token, {
            "@context": AS, "type": "Create", "audience": plein,
            "object": {
                "type": "Event", "name": "Buurtborrel", "participation": "members",
                "startTime": "2031-01-10T19:00:00+01:00",
                "endTime": "2031-01-10T21:00:00+01:00", "timezone": "Europe/Amsterdam",
            },
        })["object"]["id"]

        # The tribe's announce made it a meetup on B, listed among B's upcoming events.
        wait_for(lambda: "Buurtborrel" in client.get(f"{two.base_url}/events").text,
                 "the event on B's /events", servers)

        post(two, "bob", bob_token, {"@context": AS, "type": "Join", "object": event_id})

        def participants_on_a() -> int:
            doc = client.get(event_id, headers={"Accept": AP}).json()
            return int(doc["participantCount"])

        wait_for(lambda: participants_on_a() == 2, "A to count bob", servers)
        feed = wait_for(
            lambda: "Buurtborrel" in (text := client.get(
                f"{two.base_url}/@bob/events.ics").text) and text,
            "bob's calendar on B to list the event (his join accepted)", servers,
        )
        assert event_id in feed.replace("\r\n ", "")  # the UID, unfolded

        # An update by the organiser reaches B's copy.
        post(one, "alice", alice_token, {
            "@context": AS, "type": "Update",
            "object": {"type": "Event", "id": event_id, "name": "Nieuwjaarsborrel"},
        })
        wait_for(lambda: "Nieuwjaarsborrel" in client.get(f"{two.base_url}/events").text,
                 "the update on B", servers)
