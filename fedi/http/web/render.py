"""Rendering pages: the locale of the request and the variables every template gets.

Templates are rendered synchronously, with a non-async overlay of Quart's Jinja environment
(same loader, globals and filters). Quart compiles templates for ``render_async``, which
awaits around every call and loop step; our templates get everything precomputed and call
no coroutine, and the sync render of a page with a long conversation takes about half the
time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, MutableMapping
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from quart import current_app, g, request, url_for

from fedi.domain.notifications import unread_count
from fedi.http.web.csrf import csrf_token
from fedi.http.web.request_db import current_session
from fedi.http.web.session import UNREAD_KEY, cookie_name
from fedi.i18n import LOCALE_NAMES, SUPPORTED_LOCALES
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


_SYNC_JINJA = "fedi.sync_jinja"
_PROCESSORS = "fedi.template_processors"


def _sync_environment() -> Environment:
    """The app's Jinja environment without async mode, made on first use."""
    app = current_app
    env: Environment | None = app.extensions.get(_SYNC_JINJA)
    if env is None:
        env = app.extensions[_SYNC_JINJA] = app.jinja_env.overlay(
            enable_async=False, cache_size=400
        )
        shared = env.globals

        def flat_globals(own: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
            # Jinja hands each template a ChainMap of its globals over the environment's,
            # and copies it into a new dict for every context: the page and each include.
            # Copying a ChainMap walks it in Python; a plain dict copies in C. All globals
            # are set while the app is built, before a template is loaded.
            return {**shared, **(own or {})}

        env.make_globals = flat_globals  # type: ignore[method-assign,assignment]
    return env


def _processors_for(blueprint: str | None) -> tuple[Callable[[], Any], ...]:
    """The template context processors a request of ``blueprint`` runs, each once.

    Worked out once per blueprint (processors are registered while the app is set up, before
    any page is rendered): the app's own, then those of the blueprint and its parents, as
    ``Quart.update_template_context`` orders them. Every blueprint carries the same default
    processor (``g``, ``request``, ``session``); a second call would only repeat its answer.
    """
    app = current_app
    known: dict[str | None, tuple[Callable[[], Any], ...]] = app.extensions.setdefault(
        _PROCESSORS, {}
    )
    found = known.get(blueprint)
    if found is None:
        names: list[str | None] = [None]
        if blueprint:
            parts = blueprint.split(".")
            # "a.b" runs those of "a", then "a.b" (``reversed(request.blueprints)``).
            names += [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
        chosen: list[Callable[[], Any]] = []
        for name in names:
            for processor in app.template_context_processors.get(name, ()):
                if processor not in chosen:
                    chosen.append(processor)
        found = known[blueprint] = tuple(chosen)
    return found


async def _add_processor_context(context: dict[str, Any]) -> None:
    """What the app's template context processors add (``g``, ``request``, ``session``),
    as ``Quart.update_template_context`` does, but calling plain functions in place: every
    blueprint carries Flask's sync default processor, which Quart would run on a worker
    thread, one thread hand-off per processor for every page."""
    extra: dict[str, Any] = {}
    for processor in _processors_for(request.blueprint):
        result = processor()
        if inspect.isawaitable(result):
            result = await result
        extra.update(result)
    for key, value in extra.items():
        context.setdefault(key, value)


async def render_template(template_name: str, /, **context: Any) -> str:
    """``quart.render_template`` without the async rendering (see the module docstring).

    The template's name is positional-only: pages pass ``name=`` as a template variable.
    """
    await _add_processor_context(context)
    return _sync_environment().get_template(template_name).render(context)


def _once_per_page(make: Callable[[], str]) -> Callable[[], str]:
    """``make`` computed at its first call and remembered for the rest of the page (a page
    of comments carries a form, and so a CSRF token, under every thread)."""
    kept: list[str] = []

    def once() -> str:
        if not kept:
            kept.append(make())
        return kept[0]

    return once


# Paths built by ``url_for`` in templates, kept for every page (see ``_remembering_url_for``).
_BUILT_PATHS: dict[tuple[Any, ...], str] = {}
_MAX_BUILT_PATHS = 20_000


def _remembering_url_for() -> Callable[..., str]:
    """``url_for`` for templates that builds each distinct path once per process.

    A page holds dozens of links (menus, one form action under every thread of a
    conversation), and building one costs about as much as rendering a line. A path
    depends only on the endpoint, its values and the app's root: absolute URLs
    (``_external``, ``_scheme``), blueprint-relative endpoints and apps with URL default
    functions are built every time. What holds for the whole page (the root, whether the app
    has URL default functions) is read once here, not at every link.
    """
    root = request.script_root
    build_always = any(current_app.url_default_functions.values())

    def url(endpoint: str, /, **values: Any) -> str:
        if build_always or endpoint.startswith("."):
            return url_for(endpoint, **values)
        if not values:
            key: tuple[Any, ...] = (root, endpoint)
        elif any(name.startswith("_") for name in values):
            return url_for(endpoint, **values)
        else:
            key = (root, endpoint, *sorted(values.items()))
        try:
            found = _BUILT_PATHS.get(key)
        except TypeError:  # an unhashable value (a list of tags): build it every time
            return url_for(endpoint, **values)
        if found is None:
            found = url_for(endpoint, **values)
            if len(_BUILT_PATHS) >= _MAX_BUILT_PATHS:
                _BUILT_PATHS.clear()
            _BUILT_PATHS[key] = found
        return found

    return url


_CURRENT_PAGE = Markup(' aria-current="page"')
_OTHER_PAGE = Markup("")


def here_marker(path: str) -> Callable[[str], Markup]:
    """``menu_current(href)`` for the menu of base.html: ``aria-current="page"`` on the link
    of the section the page at ``path`` belongs to ("Tribes" on a tribe's pages), else
    nothing.

    A plain function rather than a Jinja macro: the menu asks it for each of its links. (Its
    name is not ``here``: pages pass a ``here`` of their own.)
    """

    def here(href: str) -> Markup:
        if path == href or (href != "/" and path.startswith(href + "/")):
            return _CURRENT_PAGE
        return _OTHER_PAGE

    return here


async def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with the shared context (user, locale, csrf token, instance)."""
    state = get_state()
    locale = current_locale()
    translations = state.translator.get(locale)
    user = getattr(g, "user", None)
    # A GET has the count from the session lookup (``fedi.http.web.session``); a POST that
    # renders counts now, after its changes.
    unread = g.pop(UNREAD_KEY, None)
    if user is not None and unread is None:
        # A read in the request's own session (the one that found the user), which may be
        # inside a view's block: no second session, and no commit of the view's work here.
        unread = await unread_count(current_session(), user.actor)
    body = await render_template(
        template,
        user=user,
        unread_notifications=unread,
        locale=locale,
        locales=[(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
        csrf_token=_once_per_page(csrf_token),
        url_for=_remembering_url_for(),
        menu_current=here_marker(request.path),
        instance_name=state.settings.instance_name,
        settings=state.settings,
        _=lambda message, **values: (
            translations.gettext(message) % values if values else translations.gettext(message)
        ),
        **context,
    )
    return body, status
