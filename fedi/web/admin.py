"""Instance administration in the browser (placeholder: being built)."""

from __future__ import annotations

from quart import Blueprint

from fedi.web.render import render

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/")
async def index() -> tuple[str, int]:
    """The admin overview."""
    return await render("error.html", message="todo", status_code=501)
