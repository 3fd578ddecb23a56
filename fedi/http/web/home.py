"""The start page, the about page and the language switch (health checks: fedi/http/ops)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, g, redirect, request
from sqlalchemy import func, select
from werkzeug.wrappers.response import Response as WerkzeugResponse

from fedi.domain import start_page
from fedi.domain.instance_settings import get_setting
from fedi.domain.search import SearchQuery, search
from fedi.http.web.activity_text import update_sentence
from fedi.http.web.discover import phase_names
from fedi.http.web.render import render
from fedi.http.web.session import cookie_name
from fedi.i18n import SUPPORTED_LOCALES
from fedi.state import get_state
from models import ActorTalent, User

blueprint = Blueprint("home", __name__)

# An instance setting: a few sentences about this instance, shown on the start page.
DESCRIPTION_KEY = "instance_description"


@blueprint.get("/")
async def index() -> tuple[str, int]:
    """The start page. For everyone: what this instance is, initiatives that need help,
    active tribes and recent results. For a logged-in person, first their own: what
    happened since their last visit, their tribes, initiatives, open tasks and offers, and
    work that needs their talents."""
    state = get_state()
    user = g.user
    viewer = user.actor if user is not None else None
    personal: dict[str, Any] = {}
    async with state.db.session() as db:
        description = await get_setting(db, DESCRIPTION_KEY, "")
        help_wanted = await start_page.needs_help(db, viewer)
        results = await start_page.recent_results(db, viewer)
        active = await search(db, SearchQuery(kind="tribes", sort="active", per_page=6))
        people_count = await db.scalar(
            select(func.count(User.id)).where(User.approved.is_(True), User.disabled.is_(False))
        )
        talents = (
            await db.execute(
                select(ActorTalent.tag, func.count(ActorTalent.id).label("n"))
                .group_by(ActorTalent.tag)
                .order_by(func.count(ActorTalent.id).desc(), ActorTalent.tag)
                .limit(20)
            )
        ).all()
        if user is not None and viewer is not None:
            last_visit = await start_page.record_visit(db, user)
            news = await start_page.since(db, viewer, last_visit) if last_visit else []
            personal = {
                "last_visit": last_visit,
                "news": [(item, entry, update_sentence(item, entry)) for item, entry in news],
                "mine": await start_page.mine(db, viewer),
                "matches": await start_page.talent_matches(db, viewer, limit=5),
            }
    return await render(
        "home.html", description=description, help_wanted=help_wanted, results=results,
        active_tribes=active.items, people_count=people_count or 0, talents=talents,
        phases=phase_names(), **personal,
    )


@blueprint.get("/about")
async def about() -> tuple[str, int]:
    """About this instance: what it is and how to reach it from the Fediverse."""
    return await render("about.html")


@blueprint.post("/language")
async def set_language() -> WerkzeugResponse:
    """Remember the chosen language in a cookie and go back where the person was."""
    form = await request.form
    lang = form.get("lang", "")
    target = form.get("next", "/") or "/"
    # Only redirect within this site: a path, never another host.
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target)
    if lang in SUPPORTED_LOCALES:
        response.set_cookie(
            cookie_name("fedi_lang"), lang, max_age=365 * 24 * 3600, samesite="Lax",
            secure=get_state().settings.secure, httponly=True, path="/",
        )
    return response
