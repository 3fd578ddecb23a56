"""Meetup pages through the test client (SQLite and PostgreSQL): organising through the form,
the event page with its address block and OpenStreetMap link, joining and leaving, the
organisers' approval list, cancelling and deleting, the Event JSON at the same address,
and the ``.ics`` file and iCalendar feeds, parsed with ``icalendar``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from initiative_helpers import make_initiative, make_world
from meetup_helpers import add_member, make_meetup
from sqlalchemy import select
from tribe_helpers import csrf_of, login, make_person, make_tribe, post_form

from fedi.domain.meetups import send_reminders
from models import Meetup

pytestmark = pytest.mark.db

AP = "application/activity+json"


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def _setup(app: Any) -> None:
    await make_person(app, "fatima")
    await make_person(app, "joris")
    await make_tribe(app, "plein", "fatima", name="Het Plein")


def _form(**changes: str) -> dict[str, str]:
    form = {
        "title": "Buurtborrel", "description_source": "Kom **langs**!",
        "starts_at": "2031-01-10T19:00", "ends_at": "2031-01-10T21:30",
        "timezone": "Europe/Amsterdam", "place_name": "Buurthuis De Ster",
        "street": "Plein 1", "postal_code": "2511 CS", "locality": "Den Haag",
        "country": "Nederland", "latitude": "52.0767", "longitude": "4.3113",
        "online_url": "", "capacity": "25", "join_mode": "anyone", "status": "confirmed",
    }
    form.update(changes)
    return form


async def test_organise_through_the_form_and_show_the_event(app: Any, client: Any) -> None:
    await _setup(app)
    assert (await client.get("/tribes/plein/events/new")).status_code == 302  # log in first
    await login(client, "fatima")
    page = await _text(await client.get("/tribes/plein/events"))
    assert 'href="/tribes/plein/events/new"' in page and "/tribes/plein/events.ics" in page
    # A broken form comes back with the message and the values kept.
    response = await post_form(
        client, "/tribes/plein/events", _form(ends_at="2031-01-10T18:00"),
        page="/tribes/plein/events/new",
    )
    assert response.status_code == 400
    page = await _text(response)
    assert "Buurthuis De Ster" in page and 'class="flash flash-error"' in page
    response = await post_form(
        client, "/tribes/plein/events", _form(), page="/tribes/plein/events/new",
    )
    assert response.status_code == 303
    path = response.headers["Location"]
    assert re.fullmatch(r"/events/[0-9a-f]{32}", path)
    page = await _text(await client.get(path))
    assert "<h1>Buurtborrel</h1>" in page and "<strong>langs</strong>" in page
    assert "2031-01-10 19:00" in page and "Europe/Amsterdam" in page
    assert "https://www.openstreetmap.org/?mlat=52.0767&amp;mlon=4.3113" in page
    assert f'href="{path}.ics"' in page and f'action="{path}/cancel"' in page
    # Dutch by default.
    assert "Toevoegen aan agenda" in page
    # The same address gives the Event to ActivityPub clients.
    event = await (await client.get(path, headers={"Accept": AP})).get_json()
    assert event["type"] == "Event" and event["id"] == f"http://localhost:8000{path}"
    assert event["startTime"] == "2031-01-10T19:00:00+01:00"
    assert event["location"]["latitude"] == 52.0767
    for listing in ("/events", "/tribes/plein/events", "/@fatima/events"):
        assert path in await _text(await client.get(listing)), listing
    assert 'href="/@fatima/events"' in await _text(await client.get("/@fatima"))
    assert 'href="/tribes/plein/events"' in await _text(await client.get("/tribes/plein"))


async def test_join_leave_and_approval(app: Any) -> None:
    await _setup(app)
    await add_member(app, "plein", "joris")
    open_one = await make_meetup(app, "plein", "fatima")
    approval = await make_meetup(app, "plein", "fatima", join_mode="approval",
                                 title="Ledenavond")
    joris, fatima = app.test_client(), app.test_client()
    await login(joris, "joris")
    await login(fatima, "fatima")
    path = "/events/" + open_one.ap_id.rsplit("/", 1)[-1]
    response = await post_form(joris, f"{path}/join", {}, page=path)
    assert response.status_code == 303
    page = await _text(await joris.get(path))
    assert f'action="{path}/leave"' in page and "@joris@localhost:8000" in page
    await post_form(joris, f"{path}/leave", {}, page=path)
    page = await _text(await joris.get(path))
    assert f'action="{path}/join"' in page and "@joris@localhost:8000" not in page

    apath = "/events/" + approval.ap_id.rsplit("/", 1)[-1]
    await post_form(joris, f"{apath}/join", {}, page=apath)
    page = await _text(await fatima.get(apath))
    found = re.search(rf'action="{apath}/requests/(\d+)/accept"', page)
    assert found, page
    # Only organisers decide.
    token = await csrf_of(joris, apath)
    response = await joris.post(
        f"{apath}/requests/{found.group(1)}/accept", form={"csrf_token": token}
    )
    assert response.status_code == 403
    await post_form(fatima, f"{apath}/requests/{found.group(1)}/accept", {}, page=apath)
    page = await _text(await fatima.get(apath))
    assert "/requests/" not in page and "@joris@localhost:8000" in page


async def test_cancel_and_delete(app: Any, client: Any) -> None:
    await _setup(app)
    meetup = await make_meetup(app, "plein", "fatima")
    path = "/events/" + meetup.ap_id.rsplit("/", 1)[-1]
    await login(client, "fatima")
    await post_form(client, f"{path}/cancel", {}, page=path)
    async with app.state.db.session() as db:
        row = await db.scalar(select(Meetup).where(Meetup.id == meetup.id))
        assert row is not None and row.status == "cancelled"
    page = await _text(await client.get(path))
    assert "Afgelast" in page and f'action="{path}/join"' not in page
    await post_form(client, f"{path}/delete", {}, page=path)
    assert (await client.get(path)).status_code == 410
    response = await client.get(path, headers={"Accept": AP})
    assert response.status_code == 410
    assert (await response.get_json())["type"] == "Tombstone"


async def test_ics_file_and_feeds_parse(app: Any, client: Any) -> None:
    await _setup(app)
    await add_member(app, "plein", "joris")
    winter = datetime(2031, 1, 10, 19, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    meetup = await make_meetup(
        app, "plein", "fatima", starts_at=winter, latitude="52.0767", longitude="4.3113",
        online_url="https://meet.example/borrel",
    )
    path = "/events/" + meetup.ap_id.rsplit("/", 1)[-1]
    response = await client.get(f"{path}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(await response.get_data())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Buurtborrel"
    assert str(event["UID"]) == meetup.ap_id
    assert event.decoded("DTSTART") == winter
    assert str(event.decoded("DTSTART").tzinfo) == "Europe/Amsterdam"
    assert "Den Haag" in str(event["LOCATION"])
    assert event["GEO"].latitude == pytest.approx(52.0767)
    assert "https://meet.example/borrel" in str(event["DESCRIPTION"])
    assert str(event["URL"]) == f"http://localhost:8000{path}"

    for feed, expected in (("/tribes/plein/events.ics", 1), ("/@fatima/events.ics", 1),
                           ("/@joris/events.ics", 0)):
        parsed = Calendar.from_ical(await (await client.get(feed)).get_data())
        assert len(parsed.walk("VEVENT")) == expected, feed
    assert (await client.get("/events/nothing.ics")).status_code == 404


async def test_the_reminder_shows_among_notifications_with_a_link(
    app: Any, client: Any
) -> None:
    await _setup(app)
    start = datetime.now(ZoneInfo("UTC")).replace(microsecond=0)
    meetup = await make_meetup(app, "plein", "fatima", starts_at=start + timedelta(hours=20))
    async with app.state.db.session() as db:
        assert await send_reminders(db) == 1
    await login(client, "fatima")
    page = await _text(await client.get("/notifications"))
    key = meetup.ap_id.rsplit("/", 1)[-1]
    assert f'<a href="/events/{key}">Morgen: Buurtborrel</a>' in page


async def test_an_initiative_organises_an_event(app: Any, client: Any) -> None:
    world = await make_world(app)
    initiative = await make_initiative(app, world)
    await login(client, "bob")
    new = f"/tribes/plein/events/new?initiative={initiative.id}"
    assert f'name="initiative_id" value="{initiative.id}"' in await _text(await client.get(new))
    response = await post_form(
        client, "/tribes/plein/events", {**_form(), "initiative_id": str(initiative.id)},
        page=new,
    )
    assert response.status_code == 303
    path = response.headers["Location"]
    page = await _text(await client.get(path))
    assert f'href="/initiatives/{initiative.id}"' in page
    event = await (await client.get(path, headers={"Accept": AP})).get_json()
    assert event["context"] == initiative.ap_id
