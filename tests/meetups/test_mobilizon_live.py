"""A Mobilizon-shaped peer and a real ``fedi serve`` over loopback HTTP.

alice organises events in her tribe through her C2S outbox (``Create{Event}`` with the tribe
as ``audience``); ``mobi``, an account on a server that speaks like Mobilizon (PKCS#1 key,
its header set, the ``Join``/``Leave`` shapes of its documented payloads), joins one, leaves
it, joins again, sees an update and the cancellation, and undoes its join; a members-only
event refuses it with ``Reject``. The other way round, an ``Event`` mobi publishes (shaped
like Mobilizon's, see its ``event.json``) becomes a meetup here that alice joins: her
``Join`` reaches mobi's server, whose ``Accept`` makes her a participant; mobi's
cancellation (``Update`` with ``ical:status`` CANCELLED) and deletion follow here.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fakes import FakeActor
from live_helpers import AP, AS, PUBLIC, outbox_post, person_with_token, tribe_plein, wait_for
from loopback_mastodon import LoopbackMastodon

pytestmark = pytest.mark.live

MZ_CONTEXT = [
    AS, "https://w3id.org/security/v1",
    {"mz": "https://joinmobilizon.org/ns#", "sc": "http://schema.org#",
     "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
     "participationMessage": {"@id": "mz:participationMessage", "@type": "sc:Text"}},
]


class LoopbackMobilizon(LoopbackMastodon):
    """The loopback server with one Mobilizon-flavoured account at ``/@<name>``."""

    def __init__(self, username: str) -> None:
        """Bind the port and publish the Mobilizon-shaped actor."""
        super().__init__(username)
        self.server.docs.pop(f"/users/{username}", None)
        self.actor = FakeActor(self.server, f"/@{username}", flavour="mobilizon")
        self.server.accounts[username] = self.actor


def _event(mobi: LoopbackMobilizon, uuid: str, **changes: Any) -> dict[str, Any]:
    """An Event as Mobilizon publishes one (the fields of its documented payload)."""
    event_id = mobi.server.url(f"/events/{uuid}")
    doc = {
        "id": event_id, "type": "Event", "uuid": uuid, "url": event_id,
        "name": "Ceilidh in het buurthuis", "content": "<p>Iedereen welkom.</p>",
        "actor": mobi.actor.id, "attributedTo": mobi.actor.id,
        "to": [PUBLIC], "cc": [mobi.actor.id + "/followers"],
        "startTime": "2031-03-07T19:00:00+01:00", "endTime": "2031-03-07T23:00:00+01:00",
        "timezone": "Europe/Amsterdam", "joinMode": "free", "ical:status": "CONFIRMED",
        "maximumAttendeeCapacity": 0, "participantCount": 4, "isOnline": False,
        "anonymousParticipationEnabled": True, "draft": False, "commentsEnabled": True,
        "published": "2030-12-01T10:00:00Z", "mediaType": "text/html",
        "location": {
            "type": "Place", "name": "De Ster", "latitude": 52.0767, "longitude": 4.2986,
            "id": mobi.server.url("/address/1"),
            "address": {"type": "PostalAddress", "streetAddress": "Plein 1",
                        "addressLocality": "Den Haag", "postalCode": "2511 CS",
                        "addressCountry": "Nederland"},
        },
    }
    doc.update(changes)
    return doc


def test_a_mobilizon_peer_joins_leaves_and_hears_of_changes(live_server_factory: Any) -> None:
    one = live_server_factory()
    servers = [one]
    token = person_with_token(one, "alice")
    plein = tribe_plein(one)
    alice_inbox = f"{one.base_url}/users/alice/inbox"

    with LoopbackMobilizon("mobi") as mobi, httpx.Client(timeout=10) as client:
        def outbox(body: dict[str, Any]) -> dict[str, Any]:
            resp = outbox_post(client, one, "alice", token, body)
            assert resp.status_code == 201, resp.text
            return dict(resp.json())

        def event_json(event_id: str) -> dict[str, Any]:
            resp = client.get(event_id, headers={"Accept": AP})
            resp.raise_for_status()
            return dict(resp.json())

        def participants(event_id: str, count: int, what: str) -> None:
            wait_for(lambda: event_json(event_id)["participantCount"] == count, what, servers)

        def from_mobi(activity: dict[str, Any], inbox: str = f"{one.base_url}/inbox") -> None:
            assert mobi.post(inbox, activity).status_code == 202

        def sent_to_mobi(kind: str, check: Any) -> Any:
            return wait_for(
                lambda: [a for a in mobi.received(kind) if check(a)],
                f"a {kind} at the Mobilizon peer", servers,
            )

        def update_reaches_mobi(event_id: str, **changes: Any) -> None:
            outbox({"@context": AS, "type": "Update",
                    "object": {"type": "Event", "id": event_id, **changes}})
            sent_to_mobi("Update", lambda a: all(a["object"].get(key) == value
                                                 for key, value in changes.items()))

        create = outbox({
            "@context": AS, "type": "Create", "audience": plein,
            "object": {
                "type": "Event", "name": "Buurtborrel", "source": "Kom **langs**!",
                "startTime": "2031-01-10T19:00:00+01:00", "endTime": "2031-01-10T21:00:00+01:00",
                "timezone": "Europe/Amsterdam",
                "location": {"type": "Place", "name": "Buurthuis", "address": {
                    "type": "PostalAddress", "streetAddress": "Plein 1",
                    "addressLocality": "Den Haag"}},
                "joinMode": "free", "maximumAttendeeCapacity": 30,
            },
        })
        event_id = create["object"]["id"]
        event = event_json(event_id)
        assert event["type"] == "Event" and event["name"] == "Buurtborrel"
        assert event["startTime"] == "2031-01-10T19:00:00+01:00"
        assert event["timezone"] == "Europe/Amsterdam" and event["joinMode"] == "free"
        assert event["maximumAttendeeCapacity"] == 30 and event["participantCount"] == 1
        assert event["anonymousParticipationEnabled"] is False
        assert event["location"]["address"]["streetAddress"] == "Plein 1"
        assert event["audience"] == plein

        # Join (Mobilizon sends it to the organiser, with a participation message).
        join = mobi.actor.activity(
            "Join", event_id, participationMessage="Ik kom!", to=[event["attributedTo"]],
        )
        join["@context"] = MZ_CONTEXT
        from_mobi(join)
        accept = sent_to_mobi("Accept", lambda a: isinstance(a["object"], dict)
                              and a["object"]["id"] == join["id"])[0]
        assert accept["object"]["object"] == event_id
        participants(event_id, 2, "two participants")

        # An update reaches the participant.
        update_reaches_mobi(event_id, name="Nieuwjaarsborrel")

        # Leave, then join again.
        from_mobi(mobi.actor.activity("Leave", event_id))
        participants(event_id, 1, "mobi to leave")
        again = mobi.actor.activity("Join", event_id)
        from_mobi(again)
        sent_to_mobi("Accept", lambda a: isinstance(a["object"], dict)
                     and a["object"]["id"] == again["id"])

        # The cancellation reaches the participant.
        update_reaches_mobi(event_id, **{"ical:status": "CANCELLED"})
        from_mobi(mobi.actor.activity("Undo", again))
        participants(event_id, 1, "the Undo{Join}")

        # A members-only event refuses the outsider with Reject.
        closed = outbox({
            "@context": AS, "type": "Create", "audience": plein,
            "object": {"type": "Event", "name": "Ledenvergadering", "participation": "members",
                       "startTime": "2031-02-01T20:00:00+01:00",
                       "endTime": "2031-02-01T22:00:00+01:00"},
        })["object"]["id"]
        assert event_json(closed)["joinMode"] == "restricted"
        refused = mobi.actor.activity("Join", closed)
        from_mobi(refused)
        sent_to_mobi("Reject", lambda a: isinstance(a["object"], dict)
                     and a["object"]["id"] == refused["id"])

        # Mobi's own event, sent to alice, becomes a meetup here that alice joins.
        remote_event = _event(mobi, "4f1c9a1e-0000-4000-8000-000000000001")
        mobi.server.docs["/events/4f1c9a1e-0000-4000-8000-000000000001"] = {
            "@context": MZ_CONTEXT, **remote_event,
        }
        created = mobi.actor.activity(
            "Create", remote_event, to=[PUBLIC], cc=[f"{one.base_url}/users/alice"],
        )
        from_mobi(created, alice_inbox)
        listed = wait_for(
            lambda: "Ceilidh in het buurthuis" in client.get(f"{one.base_url}/events").text
            and client.get(f"{one.base_url}/events").text,
            "the remote event on /events", servers,
        )
        assert "/events/r" in listed
        outbox({"@context": AS, "type": "Join", "object": remote_event["id"]})
        our_join = sent_to_mobi("Join", lambda a: a["object"] == remote_event["id"])[0]
        assert our_join["actor"] == f"{one.base_url}/users/alice"
        answer = mobi.actor.activity("Accept", our_join["id"])
        from_mobi(answer)
        # Alice's calendar lists the remote event once her participation is accepted.
        feed = wait_for(
            lambda: "Ceilidh" in (text := client.get(
                f"{one.base_url}/@alice/events.ics").text) and text,
            "the remote event in alice's calendar", servers,
        )
        assert "BEGIN:VCALENDAR" in feed

        # Mobi cancels, then deletes the event: the copy here follows.
        remote_page = one.base_url + re.findall(r'href="(/events/r\d+)"', listed)[0]
        cancelled = {**remote_event, "ical:status": "CANCELLED",
                     "updated": "2030-12-02T10:00:00Z"}
        update = mobi.actor.activity("Update", cancelled, to=[PUBLIC],
                                     cc=[f"{one.base_url}/users/alice"])
        from_mobi(update, alice_inbox)
        wait_for(lambda: 'class="meetup-status"' in client.get(remote_page).text,
                 "the remote cancellation", servers)
        delete = mobi.actor.activity("Delete", remote_event["id"], to=[PUBLIC],
                                     cc=[f"{one.base_url}/users/alice"])
        from_mobi(delete, alice_inbox)
        wait_for(lambda: client.get(remote_page).status_code == 410,
                 "the remote deletion", servers)
