"""Registration, login, logout, password change and reset (placeholder: being built)."""

from __future__ import annotations

from quart import Blueprint

from fedi.web.render import render

blueprint = Blueprint("auth", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
async def login() -> tuple[str, int]:
    """Log in."""
    return await render("error.html", message="todo", status_code=501)


@blueprint.route("/register", methods=["GET", "POST"])
async def register() -> tuple[str, int]:
    """Register."""
    return await render("error.html", message="todo", status_code=501)


@blueprint.route("/account", methods=["GET", "POST"])
async def account() -> tuple[str, int]:
    """Account settings."""
    return await render("error.html", message="todo", status_code=501)


@blueprint.post("/logout")
async def logout() -> tuple[str, int]:
    """Log out."""
    return await render("error.html", message="todo", status_code=501)
