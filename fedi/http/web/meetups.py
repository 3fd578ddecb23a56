"""Meetup pages: upcoming events (instance, tribe, person), the event page, the forms to
organise, edit, cancel and delete one, joining and leaving, organisers' decisions, and
iCalendar (``.ics`` per event, feeds per tribe and per person).

Every action goes through ``fedi.domain.meetups``, the same service the C2S outbox and the
inbound handlers use. ``/events/<key>`` is also the ``Event`` id: ActivityPub requests get
the JSON (``fedi.http.ap.meetups``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, available_timezones

from icalendar import Calendar
from icalendar import Event as IcsEvent
from quart import Blueprint, Response, abort, flash, g, redirect, request, url_for
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import meetups, profiles, tribes
from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.domain.initiative_access import get_initiative
from fedi.domain.tribe_access import role_of
from fedi.http.ap.actors import wants_activity_json
from fedi.http.ap.meetups import event_response
from fedi.http.web.actions import action_done, action_refused
from fedi.http.web.auth import Page, login_redirect, no_store
from fedi.http.web.render import _, render
from fedi.settings import Settings
from fedi.state import get_state
from models import Actor, Meetup, Tribe

blueprint = Blueprint("meetups", __name__)

FORM_FIELDS = (
    "title", "description_source", "starts_at", "ends_at", "timezone", "place_name", "street",
    "postal_code", "locality", "country", "latitude", "longitude", "online_url", "capacity",
    "join_mode", "status",
)
OSM = "https://www.openstreetmap.org/"
# The zones offered in the form: the whole IANA list, sorted once.
ZONES = sorted(available_timezones())


# ------------------------------------------------------------------ helpers for templates


def page_path(meetup: Meetup) -> str:
    """The local page of a meetup: its id for ours, ``/events/r<row id>`` for a remote one."""
    return "/events/" + meetups.page_key(meetup)


def _key(meetup: Meetup) -> str:
    return meetups.page_key(meetup)


def local_time(meetup: Meetup, when: datetime) -> str:
    """``when`` in the meetup's zone, as ``2026-12-10 19:00``."""
    return when.astimezone(ZoneInfo(meetup.timezone)).strftime("%Y-%m-%d %H:%M")


def map_link(meetup: Meetup) -> str | None:
    """An OpenStreetMap link: a marker at the coordinates, else a search for the address."""
    if meetup.latitude is not None and meetup.longitude is not None:
        lat, lon = meetup.latitude, meetup.longitude
        return f"{OSM}?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    words = " ".join(
        part for part in (meetup.street, meetup.postal_code, meetup.locality, meetup.country)
        if part
    )
    return f"{OSM}search?{urlencode({'query': words})}" if words else None


@blueprint.app_template_global("meetup_path")
def _meetup_path(meetup: Meetup) -> str:
    return page_path(meetup)


@blueprint.app_template_global("meetup_time")
def _meetup_time(meetup: Meetup, when: datetime) -> str:
    return local_time(meetup, when)


def _status_labels() -> dict[str, str]:
    return {
        "confirmed": _("Confirmed"), "tentative": _("Tentative"), "cancelled": _("Cancelled"),
    }


def _join_labels() -> dict[str, str]:
    return {
        "anyone": _("Anyone"), "members": _("Members of the tribe"),
        "approval": _("After approval by an organiser"),
    }


def _redirect(location: str) -> Response:
    return cast(Response, redirect(location, 303))


async def _meetup_or_404(db: AsyncSession, key: str) -> Meetup:
    """The meetup of the page ``key``; 404 when there is none."""
    try:
        return await meetups.get_meetup(db, get_state().settings, key)
    except NotFound:
        abort(404)


async def _tribe_or_404(db: AsyncSession, slug: str) -> Tribe:
    """The tribe ``slug`` (ours or a remote one we know); 404 when there is none."""
    tribe = await tribes.find_tribe(db, slug)
    if tribe is None:
        abort(404)
    return tribe


async def _person_or_404(db: AsyncSession, username: str) -> Actor:
    """The local person ``username``; 404 when there is none."""
    person = await profiles.find_local_person(db, username)
    if person is None:
        abort(404)
    return person


async def _act(
    key: str,
    work: Callable[[AsyncSession, Meetup, Actor], Awaitable[str | None]],
    back: str | None = None,
) -> Response:
    """Run a form action of the logged-in person on a meetup, then go back with a message."""
    if g.user is None:
        return login_redirect()
    state = get_state()
    target = back
    try:
        async with state.db.session() as db:
            meetup = await meetups.get_meetup(db, state.settings, key)
            target = target or page_path(meetup)
            message = await work(db, meetup, g.user.actor)
    except ServiceError as exc:
        return await action_refused(exc, target or "/events")
    return await action_done(message, target or "/events")


async def _act_and_say(
    key: str,
    service: Callable[[AsyncSession, Settings, Meetup, Actor], Awaitable[object]],
    done: str,
    back: str | None = None,
) -> Response:
    """``_act`` for a service that needs nothing but the meetup and the person: run it,
    then go back with the (already translated) message ``done``."""

    async def work(db: AsyncSession, meetup: Meetup, actor: Actor) -> str:
        await service(db, get_state().settings, meetup, actor)
        return done

    return await _act(key, work, back)


# ------------------------------------------------------------------ lists


async def _list_page(
    title: str, found: list[Meetup], *, tribe: Tribe | None = None, feed: str | None = None,
    may_create: bool = False,
) -> Page:
    return await render(
        "meetups/list.html", title=title, meetups=found, tribe=tribe, feed=feed,
        may_create=may_create, status_labels=_status_labels(),
    )


@blueprint.get("/events")
async def upcoming() -> Page:
    """Upcoming meetups of the whole instance (ours and remote ones we know)."""
    async with get_state().db.session() as db:
        found = await meetups.upcoming(db)
    return await _list_page(_("Upcoming events"), found)


@blueprint.get("/tribes/<slug>/events")
async def tribe_events(slug: str) -> Page:
    """A tribe's upcoming meetups, with the form link for its members."""
    async with get_state().db.session() as db:
        tribe = await _tribe_or_404(db, slug)
        found = await meetups.upcoming(db, tribe=tribe)
        viewer = g.user.actor if g.user is not None else None
        may_create = tribe.actor.local and await role_of(db, tribe, viewer) is not None
    return await _list_page(
        _("Events of %(name)s", name=tribe.name), found, tribe=tribe,
        feed=url_for("meetups.tribe_feed", slug=slug), may_create=may_create,
    )


@blueprint.get("/@<username>/events")
async def person_events(username: str) -> Page:
    """The meetups a local person organises or takes part in."""
    async with get_state().db.session() as db:
        person = await _person_or_404(db, username)
        found = await meetups.upcoming(db, person=person)
    return await _list_page(
        _("Events of %(name)s", name=person.name), found,
        feed=url_for("meetups.person_feed", username=person.username),
    )


# ------------------------------------------------------------------ one meetup


@blueprint.get("/events/<key>")
async def show(key: str) -> Any:
    """The event page (or the ``Event`` JSON for ActivityPub clients)."""
    state = get_state()
    async with state.db.session() as db:
        meetup = await _meetup_or_404(db, key)
        if wants_activity_json():
            return await event_response(db, state.settings, meetup)
        if meetup.deleted_at is not None:
            abort(410)
        viewer = g.user.actor if g.user is not None else None
        context: dict[str, Any] = {
            "meetup": meetup,
            "participants": await meetups.participants(db, meetup),
            "pending": await meetups.participants(db, meetup, "pending"),
            "mine": await meetups.participation_of(db, meetup, viewer),
            "may_manage": await meetups.may_manage(db, meetup, viewer),
            "count": await meetups.accepted_count(db, meetup),
        }
    return await render(
        "meetups/show.html", **context, map_link=map_link(meetup),
        status_labels=_status_labels(), join_labels=_join_labels(),
        key=_key(meetup),
    )


def _form_values(form: Any) -> dict[str, Any]:
    return {name: form.get(name, "") for name in FORM_FIELDS if name in form}


def _form_defaults(meetup: Meetup | None) -> dict[str, Any]:
    if meetup is None:
        return {"timezone": "Europe/Amsterdam", "join_mode": "anyone", "status": "confirmed"}
    zone = ZoneInfo(meetup.timezone)
    values = {name: getattr(meetup, name) for name in FORM_FIELDS}
    values["starts_at"] = meetup.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    values["ends_at"] = meetup.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    for name in ("latitude", "longitude", "capacity", "online_url"):
        values[name] = "" if values[name] is None else values[name]
    return values


async def _form_page(
    values: dict[str, Any], action: str, *, error: str | None = None, status: int = 200,
    tribe: Tribe | None = None, editing: bool = False,
) -> Page:
    return await render(
        "meetups/form.html", status=status, values=values, action=action, error=error,
        zones=ZONES, tribe=tribe, editing=editing, status_labels=_status_labels(),
        join_labels=_join_labels(),
    )


@blueprint.get("/tribes/<slug>/events/new")
async def new(slug: str) -> Page | Response:
    """The form to organise a meetup in a tribe."""
    if g.user is None:
        return login_redirect()
    async with get_state().db.session() as db:
        tribe = await _tribe_or_404(db, slug)
    values = _form_defaults(None)
    # Organised for one of the tribe's initiatives (its page links here with ?initiative=).
    values["initiative_id"] = request.args.get("initiative", "")[:12]
    return no_store(await _form_page(
        values, url_for("meetups.create", slug=slug), tribe=tribe,
    ))


@blueprint.post("/tribes/<slug>/events")
async def create(slug: str) -> Page | Response:
    """Organise the meetup (members only, ``meetups.create_meetup``)."""
    if g.user is None:
        return login_redirect()
    form = await request.form
    values = _form_values(form)
    initiative_id = str(form.get("initiative_id", ""))
    state = get_state()
    try:
        async with state.db.session() as db:
            tribe = await tribes.get_tribe(db, slug)
            initiative = None
            if initiative_id.isdigit():
                initiative = await get_initiative(db, int(initiative_id))
            meetup = await meetups.create_meetup(
                db, state.settings, g.user.actor, tribe, initiative=initiative, **values
            )
            path = page_path(meetup)
    except (Forbidden, NotFound) as exc:
        abort(exc.status)
    except ServiceError as exc:
        async with state.db.session() as db:
            tribe = await tribes.get_tribe(db, slug)
        return no_store(await _form_page(
            {**values, "initiative_id": initiative_id}, url_for("meetups.create", slug=slug),
            tribe=tribe, error=_(exc.message, **exc.values), status=400,
        ))
    await flash(_("Your event has been published."), "success")
    return _redirect(path)


@blueprint.get("/events/<key>/edit")
async def edit(key: str) -> Page | Response:
    """The edit form (organisers only)."""
    if g.user is None:
        return login_redirect()
    state = get_state()
    async with state.db.session() as db:
        meetup = await _meetup_or_404(db, key)
        if not await meetups.may_manage(db, meetup, g.user.actor):
            abort(403)
    return no_store(await _form_page(
        _form_defaults(meetup), url_for("meetups.save", key=key), editing=True,
    ))


@blueprint.post("/events/<key>/edit")
async def save(key: str) -> Page | Response:
    """Save an edit; participants hear of it (``Update{Event}``)."""
    if g.user is None:
        return login_redirect()
    values = _form_values(await request.form)
    state = get_state()
    try:
        async with state.db.session() as db:
            meetup = await meetups.get_meetup(db, state.settings, key)
            await meetups.update_meetup(db, state.settings, meetup, g.user.actor, **values)
    except (Forbidden, NotFound) as exc:
        abort(exc.status)
    except ServiceError as exc:
        return no_store(await _form_page(
            values, url_for("meetups.save", key=key), editing=True,
            error=_(exc.message, **exc.values), status=400,
        ))
    await flash(_("The event has been updated."), "success")
    return _redirect(f"/events/{key}")


@blueprint.post("/events/<key>/cancel")
async def cancel(key: str) -> Response:
    """Cancel the meetup (organisers)."""
    return await _act_and_say(key, meetups.cancel_meetup, _("The event has been cancelled."))


@blueprint.post("/events/<key>/delete")
async def remove(key: str) -> Response:
    """Delete the meetup (organisers)."""
    return await _act_and_say(
        key, meetups.delete_meetup, _("The event has been deleted."), "/events"
    )


@blueprint.post("/events/<key>/join")
async def join(key: str) -> Response:
    """Take part (or ask to)."""
    form = await request.form
    message = form.get("message", "")

    async def work(db: AsyncSession, meetup: Meetup, actor: Actor) -> str:
        row = await meetups.join(db, get_state().settings, meetup, actor, message=message)
        if row.state == "pending":
            return _("Your request has been sent to the organisers.")
        return _("You take part in this event.")

    return await _act(key, work)


@blueprint.post("/events/<key>/leave")
async def leave(key: str) -> Response:
    """Stop taking part (or withdraw a request)."""
    return await _act_and_say(key, meetups.leave, _("You no longer take part in this event."))


@blueprint.post("/events/<key>/requests/<int:participant_id>/<choice>")
async def decide(key: str, participant_id: int, choice: str) -> Response:
    """An organiser accepts or rejects a request."""
    if choice not in ("accept", "reject"):
        abort(404)

    async def work(db: AsyncSession, meetup: Meetup, actor: Actor) -> str:
        await meetups.decide(
            db, get_state().settings, meetup, actor, participant_id, accept=choice == "accept"
        )
        return _("The request has been accepted.") if choice == "accept" else _(
            "The request has been rejected."
        )

    return await _act(key, work)


# ------------------------------------------------------------------ iCalendar


def _ics_event(meetup: Meetup, base_url: str) -> IcsEvent:
    item = IcsEvent()
    item.add("uid", meetup.ap_id)
    item.add("summary", meetup.title)
    item.add("dtstart", meetup.starts_at.astimezone(ZoneInfo(meetup.timezone)))
    item.add("dtend", meetup.ends_at.astimezone(ZoneInfo(meetup.timezone)))
    item.add("dtstamp", meetup.updated_at)
    item.add("url", base_url + page_path(meetup))
    item.add("status", meetup.status.upper())
    where = ", ".join(
        part for part in (
            meetup.place_name, meetup.street, meetup.postal_code, meetup.locality,
            meetup.country,
        ) if part
    )
    if where or meetup.online_url:
        item.add("location", where or meetup.online_url)
    if meetup.latitude is not None and meetup.longitude is not None:
        item.add("geo", (meetup.latitude, meetup.longitude))
    description = meetup.description_source or ""
    if meetup.online_url:
        description = (description + "\n\n" + meetup.online_url).strip()
    if description:
        item.add("description", description)
    return item


def _calendar(name: str, found: list[Meetup]) -> Response:
    settings = get_state().settings
    calendar = Calendar()
    calendar.add("prodid", "-//Part-up on the Fediverse//meetups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for meetup in found:
        calendar.add_component(_ics_event(meetup, settings.base_url))
    response = Response(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f"inline; filename*=UTF-8''{quote(name[:60])}.ics"
    )
    return response


@blueprint.get("/events/<key>.ics")
async def event_ics(key: str) -> Response:
    """One meetup as an ``.ics`` file ("add to calendar")."""
    state = get_state()
    async with state.db.session() as db:
        meetup = await _meetup_or_404(db, key)
    if meetup.deleted_at is not None:
        abort(410)
    return _calendar(meetup.title, [meetup])


@blueprint.get("/tribes/<slug>/events.ics")
async def tribe_feed(slug: str) -> Response:
    """A tribe's upcoming meetups as an iCalendar feed."""
    async with get_state().db.session() as db:
        tribe = await _tribe_or_404(db, slug)
        found = await meetups.upcoming(db, tribe=tribe)
    return _calendar(tribe.name, found)


@blueprint.get("/@<username>/events.ics")
async def person_feed(username: str) -> Response:
    """A person's upcoming meetups as an iCalendar feed."""
    async with get_state().db.session() as db:
        person = await _person_or_404(db, username)
        # A calendar holds what they take part in, not requests still waiting.
        found = await meetups.upcoming(db, person=person, with_pending=False)
    return _calendar(person.name, found)
