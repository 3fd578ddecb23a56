"""The home page, the about page and the language switch (health checks: fedi/http/ops)."""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Blueprint, redirect, request
from sqlalchemy import func, select
from werkzeug.wrappers.response import Response as WerkzeugResponse

from fedi.http.web.render import render
from fedi.http.web.session import cookie_name
from fedi.i18n import SUPPORTED_LOCALES
from fedi.state import get_state
from models import Actor, ActorTalent, User

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
async def index() -> tuple[str, int]:
    """The home page: what this instance is for, and who is here."""
    state = get_state()
    async with state.db.session() as db:
        people = (
            await db.scalars(
                select(Actor)
                .join(User, User.actor_id == Actor.id)
                .where(Actor.local.is_(True), User.approved.is_(True), User.disabled.is_(False))
                .order_by(Actor.created_at.desc())
                .limit(8)
            )
        ).all()
        talents = (
            await db.execute(
                select(ActorTalent.tag, func.count(ActorTalent.id).label("n"))
                .group_by(ActorTalent.tag)
                .order_by(func.count(ActorTalent.id).desc(), ActorTalent.tag)
                .limit(20)
            )
        ).all()
        people_count = await db.scalar(
            select(func.count(User.id)).where(User.approved.is_(True), User.disabled.is_(False))
        )
    return await render(
        "home.html", people=people, talents=talents, people_count=people_count or 0
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
