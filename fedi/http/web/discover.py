"""Discover: initiatives, tribes and people, here and known from elsewhere, found by text,
tag, talent, place, phase and language, sorted and paged. ``/initiatives`` is the same page
for initiatives only. The finding itself is ``fedi.domain.search``."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, g, request
from sqlalchemy import select

from fedi.domain.initiatives import PHASES
from fedi.domain.search import KINDS, SORTS, SearchQuery, SearchResults, search
from fedi.http.web.auth import Page
from fedi.http.web.render import _, render
from fedi.i18n import SUPPORTED_LOCALES
from fedi.state import get_state
from models import Tribe

blueprint = Blueprint("discover", __name__)

# Filters a visitor can set, as query-string names.
FILTERS = ("q", "tag", "talent", "place", "phase", "language", "origin", "sort")


def kind_labels() -> dict[str, str]:
    """The three kinds of results in the reader's language."""
    return {"initiatives": _("Initiatives"), "tribes": _("Tribes"), "people": _("People")}


def sort_labels() -> dict[str, str]:
    """The orders of results in the reader's language."""
    return {"new": _("Newest"), "active": _("Most active"), "popular": _("Most popular")}


def origin_labels() -> dict[str, str]:
    """Where results come from, in the reader's language."""
    return {
        "": _("Here and elsewhere"), "local": _("On this server"),
        "remote": _("On other servers"),
    }


def phase_names() -> dict[str, str]:
    """The phases of an initiative in the reader's language."""
    names = {"idea": _("Idea"), "plan": _("Plan"), "execute": _("Execute"), "grow": _("Grow")}
    return {phase: names.get(phase, phase) for phase in PHASES}


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 1000))
    except ValueError:
        return 1


def query_from_request(kind: str) -> SearchQuery:
    """The search the query string asks for (unknown values fall back to "any")."""
    args = request.args
    return SearchQuery(
        kind=kind, text=args.get("q", ""), tag=args.get("tag", ""),
        talent=args.get("talent", ""), place=args.get("place", ""),
        phase=args.get("phase", ""), language=args.get("language", ""),
        origin=args.get("origin", ""), sort=args.get("sort", "new"), page=_page_number(),
    ).cleaned()


def filter_values(query: SearchQuery) -> dict[str, str]:
    """The set filters as query-string values (for links that keep them)."""
    values = {
        "q": query.text, "tag": query.tag, "talent": query.talent, "place": query.place,
        "phase": query.phase, "language": query.language, "origin": query.origin,
        "sort": query.sort if query.sort != "new" else "",
    }
    return {name: value for name, value in values.items() if value}


def page_window(results: SearchResults, width: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``width`` around the current one;
    None marks a gap."""
    last, current = results.pages, results.query.page
    shown = sorted({1, last, *range(max(1, current - width), min(last, current + width) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


async def _languages() -> list[str]:
    """Languages to offer: the interface's, then those tribes say they speak."""
    async with get_state().db.session() as db:
        used = (await db.scalars(select(Tribe.language).distinct())).all()
    extra = sorted({code for code in used if code and code not in SUPPORTED_LOCALES})
    return [*SUPPORTED_LOCALES, *extra]


async def _discover(kind: str, endpoint: str) -> Page:
    query = query_from_request(kind)
    viewer = g.user.actor if g.user is not None else None
    async with get_state().db.session() as db:
        results = await search(db, query, viewer)
    return await render(
        "discover/index.html",
        results=results,
        query=query,
        endpoint=endpoint,
        kinds=kind_labels(),
        kind_order=KINDS,
        sorts=sort_labels(),
        sort_order=SORTS,
        origins=origin_labels(),
        phases=phase_names(),
        languages=await _languages(),
        kept=filter_values(query),
        window=page_window(results),
        filtered=bool(filter_values(query).keys() - {"sort"}),
    )


@blueprint.get("/discover")
async def index() -> Page:
    """Discover initiatives (default), tribes or people (``?kind=``)."""
    kind = request.args.get("kind", "initiatives")
    return await _discover(kind if kind in KINDS else "initiatives", "discover.index")


@blueprint.get("/initiatives")
async def initiatives() -> Page:
    """Initiatives of every tribe, here and known from elsewhere."""
    return await _discover("initiatives", "discover.initiatives")


def url_args(kept: dict[str, str], **changes: Any) -> dict[str, Any]:
    """Query-string values for a link: the kept filters with ``changes`` applied."""
    values: dict[str, Any] = dict(kept)
    values.update({name: value for name, value in changes.items() if value is not None})
    return {name: value for name, value in values.items() if value not in ("", None)}


blueprint.add_app_template_global(url_args, "discover_args")
