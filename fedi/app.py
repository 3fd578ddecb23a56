"""The application factory: ``create_app(settings)`` builds one complete instance."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from itsdangerous import URLSafeTimedSerializer
from quart import Quart, Response, g, request
from quart.sessions import SecureCookieSessionInterface

# Importing the federation package registers its domain-event subscribers (what we send).
import fedi.federation  # noqa: F401
from fedi import __version__
from fedi.db import Database
from fedi.federation.outgoing_http import outgoing_transport
from fedi.http.ap import actors as actors_routes
from fedi.http.ap import collections as collections_routes
from fedi.http.ap import context as context_routes
from fedi.http.ap import contributions as contribution_routes
from fedi.http.ap import groups as group_routes
from fedi.http.ap import initiatives as initiative_json
from fedi.http.ap import objects as object_routes
from fedi.http.ap import outbox as outbox_routes
from fedi.http.ap import outbox_group as group_outbox_routes
from fedi.http.ap import outbox_media as media_upload_routes
from fedi.http.ap import polls as poll_routes
from fedi.http.ap import read_only_ids, well_known
from fedi.http.ap.plumbing import install as install_federation
from fedi.http.headers import security_headers
from fedi.http.mastodon import accounts as mastodon_accounts
from fedi.http.mastodon import common as mastodon_common
from fedi.http.mastodon import instance as mastodon_instance
from fedi.http.mastodon import markers as mastodon_markers
from fedi.http.mastodon import media as mastodon_media
from fedi.http.mastodon import notifications as mastodon_notifications
from fedi.http.mastodon import oauth as mastodon_oauth
from fedi.http.mastodon import push as mastodon_push
from fedi.http.mastodon import search as mastodon_search
from fedi.http.mastodon import status_extras as mastodon_status_extras
from fedi.http.mastodon import statuses as mastodon_statuses
from fedi.http.mastodon import streaming as mastodon_streaming
from fedi.http.mastodon import timelines as mastodon_timelines
from fedi.http.ops import install as install_operations
from fedi.http.web import (
    admin,
    auth,
    home,
    initiatives,
    mail_pages,
    media,
    move_pages,
    profiles,
    push_pages,
    remote_initiatives,
    social,
    tribe_posts,
    tribes,
)
from fedi.http.web import discover as discover_pages
from fedi.http.web import initiative_invites as initiative_invite_pages
from fedi.http.web import live as live_pages
from fedi.http.web import meetups as meetup_pages
from fedi.http.web import polls as poll_pages
from fedi.http.web import your_data as your_data_pages
from fedi.http.web.cache import install as install_page_cache
from fedi.http.web.csrf import check_csrf, set_anon_cookie
from fedi.http.web.errors import register_error_handlers
from fedi.http.web.request_db import close_request_session
from fedi.http.web.session import load_current_user
from fedi.i18n import Translator, install_template_helpers
from fedi.settings import Settings
from fedi.state import AppState, FediApp

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Requests served before Quart has even parsed a route; they need no user or CSRF check.
_NO_SESSION_PREFIXES = (
    "/static/", "/healthz", "/readyz", "/metrics", "/.well-known/", "/nodeinfo/",
)


class _FlashCookieSessions(SecureCookieSessionInterface):
    """Quart's signed cookie, used only for flash messages (logins live in the database).

    Quart builds its signing serializer again for every request, ~3 % of an inbox POST
    (BENCHMARKS.md); the key never changes while the app runs, so it is built once.
    """

    _serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        """The app's serializer, made on first use."""
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer


def create_app(
    settings: Settings, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> FediApp:
    """Build an app for ``settings``; ``http_transport`` lets tests route outgoing HTTP."""
    app = FediApp(
        "fedi",
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        static_url_path="/static",
    )
    app.secret_key = settings.secret_key
    app.session_interface = _FlashCookieSessions()
    suffix = hashlib.sha256(settings.host.encode()).hexdigest()[:8]
    app.config.update(
        SESSION_COOKIE_NAME=f"fedi_flash_{suffix}",
        SESSION_COOKIE_SECURE=settings.secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Uploads are bounded per route too; this is the outer limit for any request body.
        # Twice the upload limit: a photo somewhat over FEDI_MAX_UPLOAD_MB still arrives, so
        # the form comes back with a message and everything typed, not a bare 413 page.
        MAX_CONTENT_LENGTH=max(settings.max_body_bytes, 2 * settings.max_avatar_bytes) + 65_536,
    )
    app.state = AppState(
        settings=settings,
        db=Database(settings.database_url, schema=settings.database_schema),
        translator=Translator(settings.default_locale),
        http_transport=http_transport,
    )
    app.jinja_env.globals["app_version"] = __version__
    # Plurals, dates, numbers and relative times in the page's language (fedi/i18n.py).
    install_template_helpers(app.jinja_env, app.state.translator)
    app.jinja_env.autoescape = True

    _register_blueprints(app)
    register_error_handlers(app)
    # One database session per request (closed here), and public pages for anonymous
    # visitors served from a short-lived cache in front of Quart.
    app.teardown_request(close_request_session)
    install_page_cache(app)
    # Outermost: the request log, request ids and request figures (fedi/http/ops).
    install_operations(app)

    @app.before_request
    async def _before() -> None:
        g.user = None
        g.login_session = None
        if request.path.startswith(_NO_SESSION_PREFIXES):
            return
        await load_current_user()
        await check_csrf()

    # Account moves (issue 12): an account that moved away is read-only on the web.
    app.before_request(move_pages.refuse_changes_after_move)

    # (name, lower-case name, value) of the headers every response gets, and every page.
    every_response = tuple(
        (name, name.lower(), value) for name, value in security_headers(settings.secure)
    )
    every_page = (
        *every_response,
        ("X-Frame-Options", "x-frame-options", "DENY"),
        (
            "Content-Security-Policy", "content-security-policy",
            "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    )

    @app.after_request
    async def _after(response: Response) -> Response:
        # Each header unless the view set its own: the names present are read once (a
        # ``setdefault`` per header walks the headers twice, on every response).
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        for name, lower, value in (
            every_page if response.mimetype == "text/html" else every_response
        ):
            if lower not in present:
                headers.add(name, value)
        return set_anon_cookie(response)

    @app.before_serving
    async def _start() -> None:
        state = app.state
        # Room for every delivery in flight plus fetches beside them: requests queued
        # inside httpx's pool cost CPU per waiting request (BENCHMARKS.md, fan-out).
        limits = httpx.Limits(
            max_connections=max(100, settings.delivery_concurrency + 32),
            max_keepalive_connections=32,
        )
        state.http = httpx.AsyncClient(
            # Connects only to addresses the URL policy checked (no DNS rebinding).
            transport=outgoing_transport(state, limits),
            timeout=httpx.Timeout(10.0),
            headers={"User-Agent": f"fedi-partup/{__version__} (+{settings.base_url})"},
            follow_redirects=False,
            limits=limits,
            # A proxy from the environment would resolve names itself, past the pinning.
            trust_env=False,
        )
        for hook in list(state.startup_hooks):
            await hook(app)

    @app.after_serving
    async def _stop() -> None:
        state = app.state
        for hook in list(state.shutdown_hooks):
            await hook(app)
        if state.http is not None:
            await state.http.aclose()
        await state.db.dispose()

    return app


def _register_blueprints(app: FediApp) -> None:

    for module in (home, auth, profiles, admin):
        app.register_blueprint(module.blueprint)

    for extra in (actors_routes, well_known, media):
        app.register_blueprint(extra.blueprint)

    for feature in (collections_routes, object_routes, outbox_routes, social):
        app.register_blueprint(feature.blueprint)

    install_federation(app)

    app.register_blueprint(tribes.blueprint)

    app.register_blueprint(group_routes.blueprint)
    app.register_blueprint(group_outbox_routes.blueprint)
    app.register_blueprint(media_upload_routes.blueprint)  # C2S uploadMedia (issue 14)
    app.register_blueprint(tribe_posts.blueprint)

    app.register_blueprint(initiatives.blueprint)
    app.register_blueprint(live_pages.blueprint)
    live_pages.install(app)
    app.register_blueprint(initiative_json.blueprint)
    app.register_blueprint(contribution_routes.blueprint)
    app.register_blueprint(read_only_ids.blueprint)

    app.register_blueprint(context_routes.blueprint)
    app.register_blueprint(remote_initiatives.blueprint)

    # Polls (issue 15): the Question at its id, and the poll pages.
    app.register_blueprint(poll_routes.blueprint)
    app.register_blueprint(poll_pages.blueprint)

    # Discover (issue 11): search initiatives, tribes and people; /initiatives.
    app.register_blueprint(discover_pages.blueprint)

    # Meetups (issue 15): event pages, forms, iCalendar and the Event at its id.
    app.register_blueprint(meetup_pages.blueprint)

    # Your data (issue 12): the archive download and the follow-list import.
    app.register_blueprint(your_data_pages.blueprint)

    # E-mail (issue 12): "forgot password" and e-mail confirmation links.
    app.register_blueprint(mail_pages.blueprint)
    # Notifications (issue 12): inviting people to an initiative by e-mail.
    app.register_blueprint(initiative_invite_pages.blueprint)

    # Web Push (issue 12): the VAPID key, browser subscriptions and the push settings.
    app.register_blueprint(push_pages.blueprint)
    # Account moves (issue 12, FEP-7628): aliases and moving to another account.
    app.register_blueprint(move_pages.blueprint)

    # Mastodon client API (issue 14): shared conventions (CORS, errors), OAuth 2, the
    # instance documents and the account endpoints.
    app.register_blueprint(mastodon_common.blueprint)
    app.register_blueprint(mastodon_oauth.api)
    app.register_blueprint(mastodon_oauth.pages)
    app.register_blueprint(mastodon_instance.blueprint)
    app.register_blueprint(mastodon_accounts.blueprint)
    app.register_blueprint(mastodon_push.blueprint)
    # Mastodon client API: statuses, timelines, notifications, search, media, markers and
    # streaming (issue 14).
    for mastodon_module in (
        mastodon_statuses, mastodon_timelines, mastodon_notifications, mastodon_search,
        mastodon_media, mastodon_markers, mastodon_status_extras,
    ):
        app.register_blueprint(mastodon_module.blueprint)
    app.register_blueprint(mastodon_streaming.blueprint)
    app.register_blueprint(mastodon_streaming.sse_blueprint)
