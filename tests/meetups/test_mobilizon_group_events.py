"""Events of a Mobilizon group that a local person follows (in-process instances on the
routing transport): the group's boost of its event makes it a meetup here, shown on
``/events`` and joinable; the local person's ``Join`` goes to the event's server, and the
group's ``Accept`` (Mobilizon embeds our ``Join``) makes them a participant.

The Event and the Group are shaped like Mobilizon's documented payloads: for a group's
event ``attributedTo`` is the group and ``actor`` the member who organised it.
"""

from __future__ import annotations

from typing import Any

from harness import add_follow, drain
from sqlalchemy import select
from tribe_fed_helpers import AS, PUBLIC, deliver, remote
from tribe_helpers import actor_named, make_person

from fedi.domain import meetups
from fedi.federation.remote.actors import get_or_fetch_actor
from models import Meetup, MeetupParticipant

HOST = "localhost:9015"


async def test_a_followed_mobilizon_groups_event_is_shown_and_joinable(two_apps: Any) -> None:
    a, _b = two_apps
    server, group = remote(two_apps.router, HOST, "buurtgroep", flavour="mobilizon")
    server.docs[group.path]["type"] = "Group"
    organiser_id = server.url("/users/emma")
    event_id = server.url("/events/b81c0531-a57c-497d-93ba-af0f8b255498")
    server.docs["/events/b81c0531-a57c-497d-93ba-af0f8b255498"] = {
        "@context": [AS, {"mz": "https://joinmobilizon.org/ns#"}],
        "id": event_id, "type": "Event", "url": event_id,
        "name": "Repair café", "content": "<p>Breng je kapotte spullen mee.</p>",
        "attributedTo": group.id, "actor": organiser_id,
        "to": [PUBLIC], "cc": [group.id + "/followers"],
        "startTime": "2031-04-05T10:00:00+02:00", "endTime": "2031-04-05T13:00:00+02:00",
        "timezone": "Europe/Amsterdam", "joinMode": "restricted", "ical:status": "TENTATIVE",
        "maximumAttendeeCapacity": 20, "participantCount": 3,
        "anonymousParticipationEnabled": True, "isOnline": False, "draft": False,
        "location": {"type": "Place", "name": "Wijkcentrum",
                     "address": {"type": "PostalAddress", "addressLocality": "Utrecht"}},
    }
    await make_person(a, "alice")
    async with a.state.db.session() as db:
        alice = await actor_named(db, "alice")
        await add_follow(db, alice, await get_or_fetch_actor(a.state, db, group.id))

    boost = group.activity("Announce", event_id, to=[PUBLIC], cc=[group.id + "/followers"])
    assert await deliver(a, group, boost) == 202
    await drain(a)
    page = await (await a.test_client().get("/events")).get_data(as_text=True)
    assert "Repair café" in page
    async with a.state.db.session() as db:
        meetup = await db.scalar(select(Meetup).where(Meetup.ap_id == event_id))
        assert meetup is not None and not meetup.local
        assert meetup.status == "tentative" and meetup.join_mode == "approval"
        assert meetup.capacity == 20 and meetup.locality == "Utrecht"
        assert meetup.timezone == "Europe/Amsterdam"
        row = await meetups.join(db, a.state.settings, meetup, await actor_named(db, "alice"))
        join_id = row.activity_ap_id
    await drain(a)
    (join,) = server.received("Join")
    assert join["id"] == join_id and join["object"] == event_id
    assert join["actor"] == f"{a.state.settings.base_url}/users/alice"

    accept = group.activity("Accept", {k: v for k, v in join.items() if k != "@context"},
                            to=[join["actor"]])
    assert await deliver(a, group, accept) == 202
    await drain(a)
    async with a.state.db.session() as db:
        state = await db.scalar(
            select(MeetupParticipant.state).where(MeetupParticipant.activity_ap_id == join_id)
        )
        assert state == "accepted"
