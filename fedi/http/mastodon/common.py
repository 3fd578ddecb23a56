"""Conventions shared by every Mastodon API endpoint.

* ``ApiBlueprint``: a blueprint whose routes answer with and without a trailing slash
  (apps differ), need no CSRF token (they authenticate with a bearer token, never a
  cookie), and turn ``ApiError``/``ServiceError`` into ``{"error": ...}`` JSON.
* ``api_user``/``optional_api_user``: the person behind ``Authorization: Bearer``, from an
  OAuth access token (with scope checks) or a ``fedi token create`` token (all scopes).
* ``api_params``: request parameters from the query string, a form or a JSON body; apps
  use all three (Mastodon.py sends forms, Ivory and Elk JSON, some scripts query strings).
* ``paginate_link``: the ``Link`` header with ``max_id``/``min_id`` that apps follow.
* ``iso_ms``: timestamps with milliseconds; some apps' parsers refuse them without.
* CORS for ``/api/*``, the OAuth token endpoints and the discovery documents, so web
  clients (Elk, Phanpy, Pinafore) running on other origins can call us.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from quart import Blueprint, Response, g, has_request_context, request

from fedi.domain import oauth
from fedi.domain.errors import ServiceError
from fedi.domain.ratelimit import LimitReached
from fedi.domain.tokens import TOKEN_PREFIX, authenticate_token
from fedi.http.web.csrf import csrf_exempt
from fedi.state import get_state
from models import Actor, OAuthApp, User

# Not the consent page (``/oauth/authorize``): a page with a person's session has no reason
# to be readable from other origins.
CORS_PREFIXES = (
    "/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo",
    "/.well-known/oauth-authorization-server", "/nodeinfo/",
)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Authorization, Content-Type, Idempotency-Key, Accept, X-Requested-With"
    ),
    "Access-Control-Expose-Headers": (
        "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id, "
        "Idempotency-Key"
    ),
    "Access-Control-Max-Age": "600",
}
_G_APP = "_mastodon_api_app"
_G_PARAMS = "_mastodon_api_params"


class ApiError(Exception):
    """An API request failed: answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the HTTP status and the message shown to the app."""
        super().__init__(message)
        self.status = status
        self.message = message


def api_json(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response (orjson; ``None`` values stay ``null``, as apps expect)."""
    response = Response(
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    # Everything under /api/ depends on who asks; no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    for name, header in (headers or {}).items():
        response.headers[name] = header
    return response


def error_response(status: int, message: str) -> Response:
    """Mastodon's error shape: ``{"error": "..."}``."""
    response = api_json({"error": message}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def service_error_response(exc: ServiceError) -> Response:
    """A domain rule's refusal as API JSON; Mastodon answers validation errors with 422."""
    status = 422 if exc.status in (400, 409) else exc.status
    response = error_response(status, str(exc))
    if isinstance(exc, LimitReached):  # the rate limit says when to try again
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def iso_ms(dt: datetime | None) -> str | None:
    """``2026-12-06T08:00:00.000Z`` (UTC, milliseconds); None stays None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_date(dt: datetime | None) -> str | None:
    """``2026-12-06`` (the day, for ``last_status_at``)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d")


class ApiParams:
    """Request parameters merged from query string, form and JSON body (JSON wins)."""

    def __init__(self, values: dict[str, list[Any]]) -> None:
        """Hold ``name -> values``; ``name[]`` keys are stored under ``name``."""
        self._values = values

    @classmethod
    def from_sources(cls, *sources: Iterable[tuple[str, Any]]) -> ApiParams:
        """Merge ``(name, value)`` pairs; later sources replace earlier ones per name."""
        merged: dict[str, list[Any]] = {}
        for source in sources:
            fresh: dict[str, list[Any]] = {}
            for name, value in source:
                key = name[:-2] if name.endswith("[]") else name
                if isinstance(value, list):
                    fresh.setdefault(key, []).extend(value)
                else:
                    fresh.setdefault(key, []).append(value)
            merged.update(fresh)
        return cls(merged)

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of ``name`` (a string for forms, any JSON value for JSON)."""
        values = self._values.get(name)
        return values[0] if values else default

    def str(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        """The value as a string (None and missing give ``default``)."""
        value = self.get(name)
        return default if value is None else builtins.str(value)

    def list(self, name: builtins.str) -> builtins.list[Any]:
        """Every value of ``name`` (``name[]=a&name[]=b``, a JSON list, or one value)."""
        return builtins.list(self._values.get(name, []))

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        """A boolean the way apps send them: true/false, 1/0, on/off, JSON booleans."""
        value = self.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, builtins.bool):
            return value
        return builtins.str(value).strip().lower() in ("1", "true", "on", "yes", "t")

    def int(
        self, name: builtins.str, default: builtins.int, *, lowest: builtins.int = 0,
        highest: builtins.int = 2**31,
    ) -> builtins.int:
        """An integer clamped into ``[lowest, highest]``; unreadable values give ``default``."""
        value = self.get(name)
        try:
            number = builtins.int(value) if value not in (None, "") else default
        except (TypeError, ValueError):
            number = default
        return max(lowest, min(highest, number))

    def __contains__(self, name: object) -> builtins.bool:
        """Whether ``name`` was sent at all."""
        return name in self._values

    def names(self) -> builtins.list[builtins.str]:
        """The parameter names sent."""
        return builtins.list(self._values)


def _json_pairs(document: Any) -> list[tuple[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [(str(name), value) for name, value in document.items()]


async def api_params() -> ApiParams:
    """The request's parameters (read once per request)."""
    cached = g.get(_G_PARAMS)
    if cached is not None:
        return cast(ApiParams, cached)
    sources: list[Iterable[tuple[str, Any]]] = [request.args.items(multi=True)]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.is_json:
            sources.append(_json_pairs(await request.get_json(silent=True)))
        else:
            form = await request.form
            sources.append(form.items(multi=True))
    params = ApiParams.from_sources(*sources)
    setattr(g, _G_PARAMS, params)
    return params


def bearer_token() -> str:
    """The token of ``Authorization: Bearer ...`` (or ``access_token`` in the query, which
    the streaming API and some older apps use); empty when none was sent."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("access_token", "").strip()


async def api_access(db: Any) -> oauth.BearerAccess | None:
    """The OAuth access behind the request's token (app tokens included), or None."""
    token = bearer_token()
    if not token:
        return None
    return await oauth.authenticate_access_token(db, token)


def api_application() -> OAuthApp | None:
    """The app the request came from, once ``api_user`` ran (None for ``fpt_`` tokens);
    the statuses use it for their ``application`` field."""
    return cast(OAuthApp | None, g.get(_G_APP))


async def optional_api_user(db: Any, *, scopes: Iterable[str] = ()) -> tuple[User, Actor] | None:
    """The person behind the bearer token, or None when no token was sent.

    A token that was sent but is invalid still answers 401: an app with a stale token must
    learn so rather than silently seeing the public view.
    """
    if not bearer_token():
        return None
    return await api_user(db, scopes=scopes)


async def api_user(db: Any, *, scopes: Iterable[str] = ()) -> tuple[User, Actor]:
    """The person behind ``Authorization: Bearer``; raises ``ApiError`` 401 when the token
    is missing or invalid, 403 when it lacks one of ``scopes``, 422 for an app-only token."""
    token = bearer_token()
    if not token:
        raise ApiError(401, "The access token is invalid")
    if token.startswith(TOKEN_PREFIX):
        # A ``fedi token create`` token: made by the person themself, it may do anything.
        user = await authenticate_token(db, token)
        if user is None:
            raise ApiError(401, "The access token is invalid")
        refuse_changes_after_move(user.actor)
        return user, user.actor
    access = await oauth.authenticate_access_token(db, token)
    if access is None:
        raise ApiError(401, "The access token is invalid")
    setattr(g, _G_APP, access.app)
    for scope in scopes:
        if not oauth.grants(access.scopes, scope):
            raise ApiError(403, "This action is outside the authorized scopes")
    if access.user is None:
        # Mastodon's wording and status for an app token on a person's endpoint.
        raise ApiError(422, "This method requires an authenticated user")
    refuse_changes_after_move(access.user.actor)
    return access.user, access.user.actor


# What an account that moved away may still change through the API: its push subscription
# (the web's /push/ stays open after a move too, fedi.http.web.move_pages).
_ALLOWED_AFTER_MOVE = ("/api/v1/push/",)
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refuse_changes_after_move(actor: Actor) -> None:
    """Refuse a write by an account that moved away: 403, as the web pages answer (a
    suspended account never gets here: its tokens stop working, 401).

    Mastodon marks a moved account as not "functional" and its web UI read-only; we answer
    the API the same way for every unsafe method, reading stays possible.
    """
    if not actor.moved_to or not has_request_context():
        return
    if request.method not in _UNSAFE_METHODS:
        return
    if request.path.startswith(_ALLOWED_AFTER_MOVE):
        return
    raise ApiError(403, "This account has moved; it can no longer be changed")


def endpoint_url() -> str:
    """This endpoint's public URL (the base of its ``Link`` header), from the instance's
    configured base URL: behind a TLS proxy the request itself may say ``http``."""
    return get_state().settings.url(request.path)


def paginate_link(items_ids: list[Any], base_url: str, params: Mapping[str, Any]) -> str:
    """A ``Link`` header for a page whose items have ``items_ids`` (newest first).

    ``next`` asks for older items (``max_id`` = the last id), ``prev`` for newer ones
    (``min_id`` = the first id); other parameters (``limit``, ``types[]``...) are kept.
    Empty when the page is empty (Mastodon sends no header then).
    """
    if not items_ids:
        return ""
    keep: list[tuple[str, Any]] = []
    for name, value in params.items():
        if name in ("max_id", "min_id", "since_id", "access_token") or value is None:
            continue
        if isinstance(value, (list, tuple)):
            keep.extend((name if name.endswith("[]") else name + "[]", v) for v in value)
        else:
            keep.append((name, value))
    newer = urlencode([*keep, ("min_id", str(items_ids[0]))])
    older = urlencode([*keep, ("max_id", str(items_ids[-1]))])
    return f'<{base_url}?{older}>; rel="next", <{base_url}?{newer}>; rel="prev"'


def _is_cors_path(path: str) -> bool:
    return path.startswith(CORS_PREFIXES)


def add_cors(response: Response) -> Response:
    """Add the CORS headers to an API response (an after-request hook of the app)."""
    if _is_cors_path(request.path):
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


View = Callable[..., Any]


def api_view(view: View) -> View:
    """Wrap an API view: CSRF-exempt, and errors answered as Mastodon JSON."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await view(*args, **kwargs)
        except ApiError as exc:
            return error_response(exc.status, exc.message)
        except ServiceError as exc:
            return service_error_response(exc)

    return csrf_exempt(wrapper)


class ApiBlueprint(Blueprint):
    """A blueprint for the API: every route is an ``api_view``, with and without ``/``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """A blueprint like Quart's; one wrapper per view, however many routes it has."""
        super().__init__(*args, **kwargs)
        self._wrapped: dict[View, View] = {}

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: View | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Register ``rule`` and its twin with (or without) a trailing slash."""
        if view_func is not None:
            endpoint = endpoint or view_func.__name__
            if view_func not in self._wrapped:
                self._wrapped[view_func] = api_view(view_func)
            view_func = self._wrapped[view_func]
        super().add_url_rule(
            rule, endpoint, view_func, provide_automatic_options=provide_automatic_options,
            **options,
        )
        twin = rule[:-1] if rule.endswith("/") and len(rule) > 1 else rule + "/"
        super().add_url_rule(
            twin, endpoint, view_func, provide_automatic_options=provide_automatic_options,
            **options,
        )


# The blueprint that installs what all API blueprints share: CORS and the error handler.
blueprint = Blueprint("mastodon_common", __name__)


@blueprint.after_app_request
async def _cors(response: Response) -> Response:
    return add_cors(response)


@blueprint.app_errorhandler(ApiError)
async def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message)


def now_ms() -> str:
    """The current time the way ``iso_ms`` writes it."""
    return cast(str, iso_ms(datetime.now(UTC)))
