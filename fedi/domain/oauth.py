"""OAuth 2 for the Mastodon client API (issue 14): apps, consent codes, tokens, scopes.

The rules live here, once; ``fedi.http.mastodon.oauth`` only speaks HTTP. What we follow:

* Apps register without an account (``POST /api/v1/apps``, as on Mastodon); their secret
  is shown once and stored hashed.
* Redirect URIs may use custom schemes (``myapp://callback``, the way phone apps get the
  code back) or ``urn:ietf:wg:oauth:2.0:oob`` (the code is shown on a page to copy);
  ``javascript:``, ``data:`` and the like are refused.
* Authorisation codes are single-use, live ten minutes, and carry the PKCE challenge
  (RFC 7636, ``S256`` or ``plain``) when the app sent one.
* Scopes follow Mastodon: ``read``, ``write``, ``follow``, ``push``, ``profile`` and the
  granular ``read:statuses`` style; ``read`` covers every ``read:*``, ``write`` every
  ``write:*`` and the legacy ``follow`` covers follows, blocks and mutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedi.domain import push_api
from fedi.domain.errors import NotFound, ServiceError
from fedi.domain.ratelimit import Limit
from fedi.domain.secrets_util import hash_secret, new_secret
from models import OAuthApp, OAuthCode, OAuthToken, User, utcnow

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
# Access tokens carry a marker so a bearer token can be told from a C2S ``fpt_`` token
# without a database lookup.
ACCESS_TOKEN_PREFIX = "fpa_"  # noqa: S105  (a marker, not a secret)
CODE_LIFETIME = timedelta(minutes=10)
MAX_NAME_LENGTH = 255
MAX_REDIRECT_URIS = 10
# Registration needs no account, so it is limited per address (a flood of apps would only
# fill the table); the token endpoint too, against guessing at scale.
APPS_PER_IP = Limit("oauth-apps-ip", 30, timedelta(hours=1))
TOKENS_PER_IP = Limit("oauth-token-ip", 60, timedelta(minutes=5))

TOP_SCOPES = ("read", "write", "follow", "push", "profile")
GRANULAR_SCOPES = (
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters",
    "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search",
    "read:statuses",
    "write:accounts", "write:blocks", "write:bookmarks", "write:conversations",
    "write:favourites", "write:filters", "write:follows", "write:lists", "write:media",
    "write:mutes", "write:notifications", "write:reports", "write:statuses",
    "admin:read", "admin:write",
)
KNOWN_SCOPES = frozenset(TOP_SCOPES + GRANULAR_SCOPES)
# What the legacy ``follow`` scope grants (Mastodon's definition).
_FOLLOW_COVERS = frozenset({
    "read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes",
    "write:mutes",
})
# Schemes a redirect URI may never use: they would run code in the browser.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})


def parse_scopes(value: str | Iterable[str] | None, *, default: str = "read") -> list[str]:
    """Scopes from a space- (or ``+``-, or comma-) separated string or a list, in order,
    without duplicates; raises ``ServiceError`` for an unknown scope."""
    if value is None or value == "" or value == []:
        value = default
    parts: list[str] = []
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        parts.extend(str(item).replace("+", " ").replace(",", " ").split())
    scopes: list[str] = []
    for scope in parts:
        if scope not in KNOWN_SCOPES:
            raise ServiceError("Unknown scope: %(scope)s", field="scopes", scope=scope)
        if scope not in scopes:
            scopes.append(scope)
    return scopes or [default]


def grants(granted: Iterable[str], needed: str) -> bool:
    """Whether the ``granted`` scopes include ``needed`` (``read`` covers ``read:x``...)."""
    have = set(granted)
    if needed in have:
        return True
    top = needed.split(":", 1)[0]
    if top in have and top in ("read", "write", "admin"):
        return True
    if "follow" in have and needed in _FOLLOW_COVERS:
        return True
    # Mastodon 4.3: ``profile`` is the narrow scope for verify_credentials; read covers it.
    return needed == "profile" and ("read" in have or "read:accounts" in have)


def check_redirect_uri(uri: str) -> str:
    """A redirect URI an app may register; raises ``ServiceError`` when it is unsafe."""
    uri = uri.strip()
    if uri == OOB_REDIRECT:
        return uri
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme or scheme in _FORBIDDEN_SCHEMES or parts.fragment or len(uri) > 2000:
        raise ServiceError("This redirect URI cannot be used.", field="redirect_uris")
    if scheme in ("http", "https") and not parts.netloc:
        raise ServiceError("This redirect URI cannot be used.", field="redirect_uris")
    return uri


@dataclass(frozen=True)
class NewApp:
    """A freshly registered app with its secret (shown this once)."""

    app: OAuthApp
    client_secret: str


async def register_app(
    db: AsyncSession,
    *,
    name: str,
    redirect_uris: str | Iterable[str],
    scopes: str | Iterable[str] | None = None,
    website: str | None = None,
) -> NewApp:
    """Register a client app (anyone may, as on Mastodon)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("An app needs a name.", field="client_name")
    if len(name) > MAX_NAME_LENGTH:
        raise ServiceError(
            "A name has at most %(max)s characters.", field="client_name", max=MAX_NAME_LENGTH
        )
    if isinstance(redirect_uris, str):
        uris = redirect_uris.split()
    else:
        uris = [u for item in redirect_uris for u in str(item).split()]
    if not uris:
        raise ServiceError("An app needs a redirect URI.", field="redirect_uris")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ServiceError("Too many redirect URIs.", field="redirect_uris")
    uris = [check_redirect_uri(uri) for uri in uris]
    website = (website or "").strip() or None
    if website is not None and (
        len(website) > 2000 or urlsplit(website).scheme.lower() not in ("http", "https")
    ):
        website = None
    secret = new_secret(32)
    app = OAuthApp(
        client_id=new_secret(24),
        client_secret_hash=hash_secret(secret),
        name=name,
        website=website,
        redirect_uris="\n".join(uris),
        scopes=" ".join(parse_scopes(scopes)),
    )
    db.add(app)
    await db.flush()
    return NewApp(app, secret)


def redirect_uri_list(app: OAuthApp) -> list[str]:
    """The redirect URIs ``app`` registered."""
    return [u for u in app.redirect_uris.split("\n") if u]


async def find_app(db: AsyncSession, client_id: str) -> OAuthApp:
    """The app with ``client_id``; raises ``NotFound``."""
    app = None
    if client_id and len(client_id) <= 64:
        app = await db.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))
    if app is None:
        raise NotFound("Unknown app.", field="client_id")
    return app


async def authenticate_client(db: AsyncSession, client_id: str, client_secret: str) -> OAuthApp:
    """The app whose id and secret these are; raises ``ServiceError`` (401) otherwise."""
    try:
        app = await find_app(db, client_id)
    except NotFound:
        app = None
    if app is None or not hmac.compare_digest(
        app.client_secret_hash, hash_secret(client_secret or "")
    ):
        error = ServiceError("Client authentication failed.", field="invalid_client")
        error.status = 401
        raise error
    return app


@dataclass(frozen=True)
class AuthorizationRequest:
    """What an app asks for on ``/oauth/authorize``, checked."""

    app: OAuthApp
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None


async def check_authorization_request(
    db: AsyncSession,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str | None,
    response_type: str = "code",
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> AuthorizationRequest:
    """Check an authorisation request before the consent page is shown."""
    app = await find_app(db, client_id)
    registered = redirect_uri_list(app)
    if not redirect_uri and len(registered) == 1:
        redirect_uri = registered[0]
    if redirect_uri not in registered:
        raise ServiceError("The redirect URI was not registered by this app.",
                           field="redirect_uri")
    if (response_type or "code") != "code":
        raise ServiceError("Only the authorisation code flow is supported.",
                           field="response_type")
    # Without a ``scope`` parameter the app gets what it registered (Mastodon's default).
    scopes = parse_scopes(scope, default=app.scopes) if scope else app.scopes.split()
    allowed = app.scopes.split()
    for wanted in scopes:
        if not grants(allowed, wanted):
            raise ServiceError("The app did not register the scope %(scope)s.",
                               field="scope", scope=wanted)
    method = None
    if code_challenge:
        method = code_challenge_method or "plain"
        if method not in ("S256", "plain"):
            raise ServiceError("Unsupported code challenge method.",
                               field="code_challenge_method")
        if not 43 <= len(code_challenge) <= 128:
            raise ServiceError("The code challenge has a wrong length.", field="code_challenge")
    return AuthorizationRequest(app, redirect_uri, scopes, code_challenge or None, method)


async def grant_code(db: AsyncSession, user: User, request: AuthorizationRequest) -> str:
    """The person consented: a one-time code for the app (returned once, stored hashed)."""
    code = new_secret(32)
    db.add(
        OAuthCode(
            app_id=request.app.id,
            user_id=user.id,
            code_hash=hash_secret(code),
            redirect_uri=request.redirect_uri,
            scopes=" ".join(request.scopes),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    await db.flush()
    return code


def _invalid_grant(message: str) -> ServiceError:
    error = ServiceError(message, field="invalid_grant")
    error.status = 400
    return error


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether ``verifier`` answers the PKCE ``challenge`` (RFC 7636 section 4.6)."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


@dataclass(frozen=True)
class IssuedToken:
    """A new access token (shown this once) and its row."""

    token: OAuthToken
    access_token: str


async def _issue(db: AsyncSession, app: OAuthApp, user_id: int | None, scopes: str) -> IssuedToken:
    access = ACCESS_TOKEN_PREFIX + new_secret(32)
    row = OAuthToken(app_id=app.id, user_id=user_id, token_hash=hash_secret(access), scopes=scopes)
    db.add(row)
    await db.flush()
    return IssuedToken(row, access)


async def exchange_code(
    db: AsyncSession,
    app: OAuthApp,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    require_pkce: bool = False,
) -> IssuedToken:
    """Trade an authorisation code for an access token (once).

    ``require_pkce``: the app sent no secret (a public client), so the code must carry a
    PKCE challenge that the verifier answers.
    """
    row = await db.scalar(select(OAuthCode).where(OAuthCode.code_hash == hash_secret(code or "")))
    if row is None or row.app_id != app.id:
        raise _invalid_grant("The authorisation code is not valid.")
    if row.used_at is not None or row.expires_at <= utcnow():
        raise _invalid_grant("The authorisation code has expired or was used already.")
    # Mastodon.py and others send the redirect_uri again; when sent, it must match.
    if redirect_uri and redirect_uri != row.redirect_uri:
        raise _invalid_grant("The redirect URI does not match the authorisation request.")
    if require_pkce and not row.code_challenge:
        raise _invalid_grant("A client secret or a PKCE code verifier is needed.")
    if row.code_challenge:
        if not code_verifier or not pkce_matches(
            code_verifier, row.code_challenge, row.code_challenge_method or "plain"
        ):
            raise _invalid_grant("The code verifier does not match the code challenge.")
    row.used_at = utcnow()
    user = await db.get(User, row.user_id)
    if user is None or user.disabled or not user.approved:
        raise _invalid_grant("The account cannot use apps.")
    return await _issue(db, app, user.id, row.scopes)


async def client_token(db: AsyncSession, app: OAuthApp, scope: str | None) -> IssuedToken:
    """A token for the app itself (client credentials): no person, only app endpoints."""
    scopes = parse_scopes(scope, default="read") if scope else ["read"]
    for wanted in scopes:
        if not grants(app.scopes.split(), wanted):
            raise ServiceError("The app did not register the scope %(scope)s.",
                               field="invalid_scope", scope=wanted)
    return await _issue(db, app, None, " ".join(scopes))


async def revoke(db: AsyncSession, app: OAuthApp, token: str) -> None:
    """Revoke ``token`` if ``app`` owns it (RFC 7009: unknown tokens are not an error)."""
    row = await db.scalar(select(OAuthToken).where(OAuthToken.token_hash == hash_secret(token)))
    if row is not None and row.app_id == app.id and row.revoked_at is None:
        row.revoked_at = utcnow()
        await push_api.forget_for_tokens(db, [row.id])  # its push subscription goes too
        await db.flush()


@dataclass(frozen=True)
class BearerAccess:
    """Who a valid OAuth access token acts for: the app, maybe a person, and the scopes."""

    token: OAuthToken
    app: OAuthApp
    user: User | None
    scopes: tuple[str, ...]


async def authenticate_access_token(db: AsyncSession, token: str) -> BearerAccess | None:
    """The access a bearer token gives, or None (unknown, revoked, account disabled)."""
    if not token or not token.startswith(ACCESS_TOKEN_PREFIX) or len(token) > 200:
        return None
    row = (
        await db.execute(
            select(OAuthToken, OAuthApp)
            .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .where(OAuthToken.token_hash == hash_secret(token))
        )
    ).first()
    if row is None:
        return None
    access, app = row
    if access.revoked_at is not None:
        return None
    user = None
    if access.user_id is not None:
        user = await db.get(User, access.user_id)
        if user is None or user.disabled or not user.approved:
            return None
    now = utcnow()
    # A write per request would double the cost of every API read; once a minute is enough
    # for the "last used" shown on the account page.
    if access.last_used_at is None or now - access.last_used_at > timedelta(minutes=1):
        access.last_used_at = now
        await db.flush()
    return BearerAccess(access, app, user, tuple(access.scopes.split()))


@dataclass(frozen=True)
class AuthorisedApp:
    """An app a person has let in, for the account settings page."""

    app_id: int
    name: str
    website: str | None
    scopes: str
    created_at: datetime
    last_used_at: datetime | None


async def authorised_apps(db: AsyncSession, user: User) -> list[AuthorisedApp]:
    """The apps holding a live token of ``user``, newest first (one line per app)."""
    rows = (
        await db.execute(
            select(OAuthToken, OAuthApp)
            .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .where(OAuthToken.user_id == user.id, OAuthToken.revoked_at.is_(None))
            .order_by(OAuthToken.created_at.desc(), OAuthToken.id.desc())
        )
    ).all()
    seen: dict[int, AuthorisedApp] = {}
    for token, app in rows:
        if app.id in seen:
            continue
        seen[app.id] = AuthorisedApp(
            app.id, app.name, app.website, token.scopes, token.created_at, token.last_used_at
        )
    return list(seen.values())


async def revoke_app_for_user(db: AsyncSession, user: User, app_id: int) -> int:
    """Revoke every token ``user`` gave the app ``app_id``; raises ``NotFound`` if none."""
    tokens = list(
        (
            await db.scalars(
                select(OAuthToken).where(
                    OAuthToken.user_id == user.id,
                    OAuthToken.app_id == app_id,
                    OAuthToken.revoked_at.is_(None),
                )
            )
        ).all()
    )
    if not tokens:
        raise NotFound("No matching app was found.")
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
    await push_api.forget_for_tokens(db, [token.id for token in tokens])
    await db.flush()
    return len(tokens)
