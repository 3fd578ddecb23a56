"""The OAuth 2 server: app registration, the consent page, tokens (issue 14).

The rules are in ``fedi.domain.oauth``; here the HTTP forms of them:

* ``POST /api/v1/apps`` and ``GET /api/v1/apps/verify_credentials``;
* ``/oauth/authorize``: a consent page for the logged-in person (a web form with its CSRF
  token, like every other form); ``force_login`` logs the browser out first, so another
  account can be chosen;
* ``POST /oauth/token`` (authorisation code, with PKCE ``S256`` or ``plain``, and client
  credentials), ``POST /oauth/revoke``;
* ``/.well-known/oauth-authorization-server`` (RFC 8414), which newer apps read first.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from quart import Blueprint, Response, flash, g, request

from fedi.domain import oauth, profiles, push, ratelimit
from fedi.domain.errors import NotFound, ServiceError
from fedi.http.mastodon.account_entity import DEFAULT_AVATAR
from fedi.http.mastodon.common import (
    ApiBlueprint,
    ApiError,
    api_access,
    api_json,
    api_params,
    api_user,
)
from fedi.http.web.auth import client_ip, go, login_redirect, login_required, no_store
from fedi.http.web.render import _, render
from fedi.http.web.session import end_session
from fedi.state import get_state
from models import OAuthApp

api = ApiBlueprint("mastodon_oauth_api", __name__)
pages = Blueprint("mastodon_oauth_pages", __name__)

# The fields of the consent form that carry the app's request from GET to POST.
_REQUEST_FIELDS = (
    "client_id", "redirect_uri", "scope", "state", "response_type", "code_challenge",
    "code_challenge_method",
)


def application_entity(
    app: OAuthApp, *, secret: str | None = None, vapid_key: str = ""
) -> dict[str, Any]:
    """Mastodon's ``Application`` entity (``CredentialApplication`` when ``secret`` is set);
    ``vapid_key``: the instance's VAPID public key (for ``/api/v1/push/subscription``)."""
    uris = oauth.redirect_uri_list(app)
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        # Deprecated in Mastodon 4.3 (now in /api/v2/instance) but still read by older apps.
        "vapid_key": vapid_key,
    }
    if secret is not None:
        entity["client_id"] = app.client_id
        entity["client_secret"] = secret
        entity["client_secret_expires_at"] = 0
    return entity


@api.post("/api/v1/apps")
async def create_app() -> Response:
    """Register an app (no account needed, as on Mastodon)."""
    params = await api_params()
    redirect = params.list("redirect_uris") or params.list("redirect_uri")
    async with get_state().db.session() as db:
        await ratelimit.take(db, oauth.APPS_PER_IP, client_ip())
    async with get_state().db.session() as db:
        # Before the app is made: making the key (once) expires the session's objects.
        vapid_key = push.vapid_public_key(await push.load_vapid(db))
        made = await oauth.register_app(
            db,
            name=params.str("client_name"),
            redirect_uris=[str(uri) for uri in redirect],
            scopes=params.list("scopes") or None,
            website=params.str("website") or None,
        )
        entity = application_entity(made.app, secret=made.client_secret, vapid_key=vapid_key)
    return api_json(entity)


@api.get("/api/v1/apps/verify_credentials")
async def verify_app() -> Response:
    """The app behind the bearer token (app tokens and person tokens alike)."""
    async with get_state().db.session() as db:
        vapid_key = push.vapid_public_key(await push.load_vapid(db))
        access = await api_access(db)
        if access is None:
            raise ApiError(401, "The access token is invalid")
        entity = application_entity(access.app, vapid_key=vapid_key)
    return api_json(entity)


def _oauth_error(status: int, code: str, description: str) -> Response:
    """RFC 6749 section 5.2 errors: ``{"error": code, "error_description": ...}``."""
    response = api_json({"error": code, "error_description": description}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _client_credentials(params: Any) -> tuple[str, str]:
    """The client id and secret from HTTP Basic (RFC 6749 2.3.1) or the parameters."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        client_id, _colon, secret = decoded.partition(":")
        return client_id, secret
    return params.str("client_id"), params.str("client_secret")


@api.post("/oauth/token")
async def token() -> Response:
    """Issue an access token (authorisation code with PKCE, or client credentials)."""
    params = await api_params()
    grant_type = params.str("grant_type")
    client_id, secret = _client_credentials(params)
    async with get_state().db.session() as db:
        await ratelimit.take(db, oauth.TOKENS_PER_IP, client_ip())
    try:
        async with get_state().db.session() as db:
            if secret:
                app = await oauth.authenticate_client(db, client_id, secret)
            elif grant_type == "authorization_code" and params.str("code_verifier"):
                # A public client (RFC 7636): the PKCE verifier stands in for the secret.
                app = await oauth.find_app(db, client_id)
            else:
                return _oauth_error(401, "invalid_client", "Client authentication failed.")
            if grant_type == "authorization_code":
                issued = await oauth.exchange_code(
                    db, app, code=params.str("code"),
                    redirect_uri=params.str("redirect_uri") or None,
                    code_verifier=params.str("code_verifier") or None,
                    require_pkce=not secret,
                )
            elif grant_type == "client_credentials":
                issued = await oauth.client_token(db, app, params.str("scope") or None)
            else:
                return _oauth_error(400, "unsupported_grant_type",
                                    "Use authorization_code or client_credentials.")
            body = {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "scope": issued.token.scopes,
                "created_at": int(issued.token.created_at.timestamp()),
            }
    except NotFound:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    except ServiceError as exc:
        code = exc.field if exc.field and exc.field.startswith("invalid_") else "invalid_request"
        return _oauth_error(exc.status, code, str(exc))
    response = api_json(body)
    response.headers["Pragma"] = "no-cache"
    return response


@api.post("/oauth/revoke")
async def revoke() -> Response:
    """Revoke a token (RFC 7009); an unknown token is not an error."""
    params = await api_params()
    client_id, secret = _client_credentials(params)
    try:
        async with get_state().db.session() as db:
            app = await oauth.authenticate_client(db, client_id, secret)
            await oauth.revoke(db, app, params.str("token"))
    except ServiceError:
        return _oauth_error(403, "unauthorized_client",
                            "You are not authorized to revoke this token")
    return api_json({})


@api.get("/.well-known/oauth-authorization-server")
async def metadata() -> Response:
    """RFC 8414 server metadata, as Mastodon 4.3 publishes it."""
    settings = get_state().settings
    return api_json({
        "issuer": settings.url("/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": settings.url("/oauth/authorize"),
        "token_endpoint": settings.url("/oauth/token"),
        "revocation_endpoint": settings.url("/oauth/revoke"),
        "app_registration_endpoint": settings.url("/api/v1/apps"),
        "userinfo_endpoint": settings.url("/oauth/userinfo"),
        "scopes_supported": sorted(oauth.KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "none",
        ],
    })


@api.get("/oauth/userinfo")
@api.post("/oauth/userinfo")
async def userinfo() -> Response:
    """Who the token belongs to, in OpenID Connect's words (Mastodon 4.3 offers it too)."""
    state = get_state()
    async with state.db.session() as db:
        _user, actor = await api_user(db, scopes=("profile",))
        picture = profiles.avatar_url(state.settings, actor)
        body = {
            "iss": state.settings.url("/"),
            "sub": actor.ap_id,
            "name": actor.display_name or actor.username,
            "preferred_username": actor.username,
            "profile": actor.url or actor.ap_id,
            "picture": picture or state.settings.url(DEFAULT_AVATAR),
        }
    return api_json(body)


# ------------------------------------------------------------------ the consent page


def _with_query(uri: str, values: dict[str, str]) -> str:
    joiner = "&" if urlsplit(uri).query else "?"
    return uri + joiner + urlencode(values)


def _consent_csp(redirect_uri: str) -> str:
    """The page's CSP: Chrome applies ``form-action`` to the redirect after the POST too,
    so the app's own scheme (``myapp:``) or origin must be allowed (Mastodon does the same)."""
    parts = urlsplit(redirect_uri)
    target = ""
    if redirect_uri != oauth.OOB_REDIRECT and parts.scheme:
        if parts.scheme in ("http", "https"):
            target = f" {parts.scheme}://{parts.netloc}"
        else:
            target = f" {parts.scheme}:"
    return (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
        f"script-src 'self'; frame-ancestors 'none'; form-action 'self'{target}"
    )


async def _bad_request_page(message: str, status: int = 400) -> Response:
    body, code = await render("error.html", status=status, message=message, status_code=status)
    return Response(body, status=code, content_type="text/html; charset=utf-8")


async def _checked(values: dict[str, str]) -> oauth.AuthorizationRequest | Response:
    try:
        async with get_state().db.session() as db:
            return await oauth.check_authorization_request(
                db,
                client_id=values.get("client_id", ""),
                redirect_uri=values.get("redirect_uri", ""),
                scope=values.get("scope") or None,
                response_type=values.get("response_type") or "code",
                code_challenge=values.get("code_challenge") or None,
                code_challenge_method=values.get("code_challenge_method") or None,
            )
    except ServiceError as exc:
        # Never redirect to an unchecked URI: the error is shown here (RFC 6749 4.1.2.1).
        return await _bad_request_page(_(exc.message, **exc.values), exc.status)


@pages.get("/oauth/authorize")
@pages.get("/oauth/authorize/")
async def authorize() -> Response:
    """Show the consent page (after logging in, when needed)."""
    values = {name: request.args.get(name, "") for name in _REQUEST_FIELDS}
    if request.args.get("force_login", "").lower() in ("1", "true", "on", "yes"):
        # Log this browser out and come back without the flag, so the person can pick the
        # account the app should use.
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "force_login"]
        response = go("/login?next=" + quote("/oauth/authorize?" + urlencode(args), safe="/"))
        await end_session(response)
        return response
    if g.user is None:
        return login_redirect()
    checked = await _checked(values)
    if isinstance(checked, Response):
        return checked
    values["redirect_uri"] = checked.redirect_uri
    values["scope"] = " ".join(checked.scopes)
    page = await render(
        "oauth/authorize.html",
        app=checked.app,
        scopes=checked.scopes,
        fields=values,
        website_host=urlsplit(checked.app.website or "").netloc,
    )
    response = no_store(page)
    response.headers["Content-Security-Policy"] = _consent_csp(checked.redirect_uri)
    return response


@pages.post("/oauth/authorize")
@pages.post("/oauth/authorize/")
@login_required
async def consent() -> Response:
    """The person's answer: a code back to the app, or ``access_denied``."""
    form = await request.form
    values = {name: form.get(name, "") for name in _REQUEST_FIELDS}
    checked = await _checked(values)
    if isinstance(checked, Response):
        return checked
    answer: dict[str, str]
    if form.get("decision") == "allow":
        async with get_state().db.session() as db:
            code = await oauth.grant_code(db, g.user, checked)
        answer = {"code": code}
    else:
        answer = {"error": "access_denied",
                  "error_description": "The resource owner denied the request."}
    if values.get("state"):
        answer["state"] = values["state"]
    if checked.redirect_uri == oauth.OOB_REDIRECT:
        page = await render("oauth/oob.html", app=checked.app, code=answer.get("code"))
        return no_store(page)
    response = go(_with_query(checked.redirect_uri, answer))
    response.headers["Cache-Control"] = "no-store"
    return response



@pages.post("/account/apps/<int:app_id>/revoke")
@login_required
async def revoke_app(app_id: int) -> Response:
    """Disconnect an app from the account page: every token it holds for the person ends."""
    try:
        async with get_state().db.session() as db:
            await oauth.revoke_app_for_user(db, g.user, app_id)
    except ServiceError as exc:
        await flash(_(exc.message, **exc.values), "error")
        return go("/account")
    await flash(_("The app has been disconnected."), "success")
    return go("/account")
