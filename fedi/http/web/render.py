"""Rendering pages: the locale of the request and the variables every template gets."""

from __future__ import annotations

from typing import Any

from quart import g, render_template, request

from fedi.domain.notifications import unread_count
from fedi.http.web.csrf import csrf_token
from fedi.http.web.i18n import LOCALE_NAMES, SUPPORTED_LOCALES
from fedi.http.web.request_db import current_session
from fedi.http.web.session import cookie_name
from fedi.state import get_state


def current_locale() -> str:
    """The locale of this request: the person's choice (cookie or account), else the default."""
    cached = getattr(g, "locale", None)
    if cached:
        return str(cached)
    state = get_state()
    chosen = request.cookies.get(cookie_name("fedi_lang"))
    user = getattr(g, "user", None)
    if not chosen and user is not None and user.locale:
        chosen = user.locale
    locale = state.translator.pick(chosen, request.headers.get("Accept-Language"))
    g.locale = locale
    return locale


def _(message: str, **values: Any) -> str:
    """Translate ``message`` for the current request, then fill ``%(name)s`` values."""
    translated = get_state().translator.gettext(current_locale(), message)
    return translated % values if values else translated


async def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with the shared context (user, locale, csrf token, instance)."""
    state = get_state()
    locale = current_locale()
    translations = state.translator.get(locale)
    user = getattr(g, "user", None)
    unread = 0
    if user is not None:
        # A read in the request's own session (the one that found the user), which may be
        # inside a view's block: no second session, and no commit of the view's work here.
        unread = await unread_count(current_session(), user.actor)
    body = await render_template(
        template,
        user=user,
        unread_notifications=unread,
        locale=locale,
        locales=[(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
        csrf_token=csrf_token,
        instance_name=state.settings.instance_name,
        settings=state.settings,
        _=lambda message, **values: (
            translations.gettext(message) % values if values else translations.gettext(message)
        ),
        **context,
    )
    return body, status
