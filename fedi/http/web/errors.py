"""Error pages: clear messages for people, JSON for API clients, never a stack trace."""

from __future__ import annotations

import logging

import orjson
from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException

from fedi.domain.errors import ServiceError
from fedi.http.web.render import _, render

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    """API clients (ActivityPub servers, C2S clients) get JSON errors; browsers get pages."""
    accept = request.headers.get("Accept", "")
    if "text/html" in accept:
        return False
    return "json" in accept or request.path.endswith(("/inbox", "/outbox")) or (
        request.path.startswith("/api/")
    )


async def error_page(exc: ServiceError) -> Response:
    """The error page for a broken rule of a form action (a Forbidden or NotFound, mostly):
    its translated message, answered with the status the rule carries."""
    body, status = await render(
        "error.html", status=exc.status, message=_(exc.message, **exc.values),
        status_code=exc.status,
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def register_error_handlers(app: Quart) -> None:
    """Install the handlers that turn errors into pages or JSON."""

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response | tuple[str, int]:
        status = error.code or 500
        if _wants_json():
            body = {"error": error.name, "detail": error.description or error.name}
            return Response(orjson.dumps(body), status=status, content_type="application/json")
        message = {
            400: _("The request could not be understood. Please go back and try again."),
            403: _("You are not allowed to do this."),
            404: _("This page does not exist."),
            405: _("This action is not possible here."),
            410: _("This has been removed."),
            413: _(
                "What you sent is too large. Go back with your browser: what you typed is "
                "still in the form; choose a smaller file."
            ),
            429: _("Too many attempts. Please wait a moment and try again."),
        }.get(status, _("Something went wrong on our side."))
        if status == 400 and error.description == "csrf":
            message = _("Your form expired. Please reload the page and try again.")
        return await render("error.html", status=status, message=message, status_code=status)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            body = orjson.dumps({"error": "Internal Server Error"})
            return Response(body, status=500, content_type="application/json")
        return await render(
            "error.html", status=500, message=_("Something went wrong on our side."),
            status_code=500,
        )
