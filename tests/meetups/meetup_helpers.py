"""Plain async factories for the meetup tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tribe_helpers import actor_named

from fedi.domain import meetups, tribe_members, tribes
from fedi.state import FediApp
from models import Meetup, utcnow


def soon(days: int = 3, hours: int = 0) -> datetime:
    """A moment ``days`` (and ``hours``) from now, on the minute."""
    return (utcnow() + timedelta(days=days, hours=hours)).replace(second=0, microsecond=0)


async def make_meetup(app: FediApp, slug: str, organiser: str, **fields: Any) -> Meetup:
    """A meetup in tribe ``slug`` organised by the local person ``organiser``."""
    starts = fields.pop("starts_at", soon())
    ends = fields.pop("ends_at", None) or starts + timedelta(hours=2)
    values: dict[str, Any] = {
        "title": "Buurtborrel", "description_source": "Kom **gezellig** langs.",
        "starts_at": starts, "ends_at": ends,
        "timezone": "Europe/Amsterdam", "place_name": "Buurthuis De Ster",
        "street": "Plein 1", "postal_code": "2511 CS", "locality": "Den Haag",
        "country": "Nederland", "join_mode": "anyone",
    }
    values.update(fields)
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, slug)
        person = await actor_named(db, organiser)
        return await meetups.create_meetup(db, app.state.settings, person, tribe, **values)


async def add_member(app: FediApp, slug: str, username: str, domain: str | None = None) -> None:
    """``username`` joins the open tribe ``slug``."""
    async with app.state.db.session() as db:
        tribe = await tribes.get_tribe(db, slug)
        person = await actor_named(db, username, domain)
        await tribe_members.join(db, app.state.settings, tribe, person)
