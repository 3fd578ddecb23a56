"""How a form action of a page ends: back to a page with a flashed message, or an error page.

Shared by the ``_act`` helpers of the initiative, poll and meetup pages, which run one
domain service call for the logged-in person and then answer the same way.
"""

from __future__ import annotations

from typing import cast

from quart import Response, flash, redirect

from fedi.domain.errors import Forbidden, NotFound, ServiceError
from fedi.http.web.errors import error_page
from fedi.http.web.render import _


async def action_refused(exc: ServiceError, back: str) -> Response:
    """A rule refused the action: Forbidden and NotFound answer with the error page (there
    is nothing to go back to); any other broken rule is flashed on the page at ``back``."""
    if isinstance(exc, (Forbidden, NotFound)):
        return await error_page(exc)
    await flash(_(exc.message, **exc.values), "error")
    return cast(Response, redirect(back, 303))


async def action_done(message: str | None, back: str) -> Response:
    """The action succeeded: flash its ``message`` (if any) and go back to ``back``."""
    if message:
        await flash(message, "success")
    return cast(Response, redirect(back, 303))
