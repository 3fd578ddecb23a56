"""CSRF protection for every form.

Each form carries a token derived (HMAC) from the secret key and an identifier of the
browser: the login session's own token when logged in, or a random anonymous cookie
before that (the login and registration forms). The check runs for every unsafe request
except the endpoints marked exempt (the ActivityPub inbox and the bearer-token outbox,
which have their own authentication and are never sent by a browser with cookies).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast

from quart import Response, abort, g, request

from fedi.http.web.session import cookie_name
from fedi.state import get_state

F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
EXEMPT_ATTRIBUTE = "_csrf_exempt"
# Set by the page cache (``fedi.http.web.cache``) on a page it may keep for every anonymous
# visitor: forms get this placeholder (in the ASGI scope), which the cache replaces with
# each visitor's own token when it sends the page.
SCOPE_PLACEHOLDER = "fedi.csrf_placeholder"


def csrf_exempt(view: F) -> F:
    """Mark a view as not needing a CSRF token (it authenticates by signature or bearer token)."""
    setattr(view, EXEMPT_ATTRIBUTE, True)
    return view


def _browser_id() -> str:
    login_session = getattr(g, "login_session", None)
    if login_session is not None:
        return "s:" + str(login_session.csrf_token)
    anon = getattr(g, "anon_id", None) or request.cookies.get(cookie_name("fedi_anon"))
    if not anon:
        anon = secrets.token_urlsafe(16)
        g.set_anon_cookie = anon
    g.anon_id = anon
    return "a:" + anon


def csrf_token() -> str:
    """The token to put into a form's hidden ``csrf_token`` field."""
    if g.get("csrf_placeholder"):
        return str(cast(dict[str, Any], request.scope)[SCOPE_PLACEHOLDER])
    return _token(get_state().settings.secret_key, _browser_id())


# Tokens by (secret key, browser id): every page a member sees carries one, and the same
# browser always gets the same token, so each is computed once (at most ``_MAX_TOKENS`` kept).
_TOKENS: dict[tuple[str, str], str] = {}
_MAX_TOKENS = 10_000


def _token(secret_key: str, browser_id: str) -> str:
    token = _TOKENS.get((secret_key, browser_id))
    if token is None:
        token = hmac.digest(secret_key.encode(), browser_id.encode(), "sha256").hex()
        if len(_TOKENS) >= _MAX_TOKENS:
            _TOKENS.clear()
        _TOKENS[(secret_key, browser_id)] = token
    return token


def anonymous_token(secret_key: str, anon_id: str) -> str:
    """The form token of an anonymous browser with the id ``anon_id`` (its cookie)."""
    return _token(secret_key, "a:" + anon_id)


async def check_csrf() -> None:
    """Refuse an unsafe request whose form token is missing or wrong (HTTP 400)."""
    if request.method not in UNSAFE_METHODS:
        return
    view = None
    if request.endpoint:
        from quart import current_app

        view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, EXEMPT_ATTRIBUTE, False):
        return
    form = await request.form
    sent = form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not sent or not hmac.compare_digest(sent, csrf_token()):
        abort(400, description="csrf")


def set_anon_cookie(response: Response) -> Response:
    """Store the anonymous browser id when a form token was made for a new visitor."""
    anon = getattr(g, "set_anon_cookie", None)
    if anon:
        response.set_cookie(
            cookie_name("fedi_anon"),
            anon,
            httponly=True,
            secure=get_state().settings.secure,
            samesite="Lax",
            path="/",
        )
    return response
