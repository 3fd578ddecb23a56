"""People: the directory, profile pages and profile editing (placeholder: being built)."""

from __future__ import annotations

from quart import Blueprint

from fedi.web.render import render

blueprint = Blueprint("profiles", __name__)


@blueprint.get("/people")
async def people() -> tuple[str, int]:
    """The people directory."""
    return await render("error.html", message="todo", status_code=501)


@blueprint.get("/@<username>")
async def show(username: str) -> tuple[str, int]:
    """A profile page."""
    return await render("error.html", message=username, status_code=501)
