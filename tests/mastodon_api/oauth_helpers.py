"""Helpers for the Mastodon API tests: register an app, consent as a person, get a token.

``oauth_token`` drives the real flow through the test client (app registration, login,
the consent form with its CSRF token, the code exchange with PKCE), so every test that
uses it also exercises the OAuth server the way an app does.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.tribe_helpers import login

REDIRECT = "nl.example.app://oauth"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

# Fields every Account must carry for strict clients (Mastodon 4.3 entity).
ACCOUNT_FIELDS = (
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
    "created_at", "note", "url", "uri", "avatar", "avatar_static", "header",
    "header_static", "followers_count", "following_count", "statuses_count",
    "last_status_at", "emojis", "fields",
)
RELATIONSHIP_FIELDS = (
    "id", "following", "showing_reblogs", "notifying", "followed_by", "blocking",
    "blocked_by", "muting", "muting_notifications", "requested", "requested_by",
    "domain_blocking", "endorsed", "note",
)
TOKEN_FIELDS = ("access_token", "token_type", "scope", "created_at")
APPLICATION_FIELDS = ("id", "name", "website", "scopes", "redirect_uri", "redirect_uris")
CREDENTIAL_APPLICATION_FIELDS = (*APPLICATION_FIELDS, "client_id", "client_secret")
MS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636 appendix B)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def register_app(
    client: Any, *, scopes: str = "read write follow", redirect: str = REDIRECT
) -> dict[str, Any]:
    """``POST /api/v1/apps`` as a form (the way Mastodon.py sends it)."""
    response = await client.post("/api/v1/apps", form={
        "client_name": "Test app", "redirect_uris": redirect, "scopes": scopes,
        "website": "https://app.example",
    })
    assert response.status_code == 200, await response.get_data(as_text=True)
    return dict(await response.get_json())


async def consent_form(client: Any, query: dict[str, str]) -> dict[str, str]:
    """Open the consent page (logged in) and return its form fields."""
    response = await client.get("/oauth/authorize", query_string=query)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    fields = dict(_HIDDEN.findall(body))
    token = _CSRF.search(body)
    assert token is not None
    fields["csrf_token"] = token.group(1)
    return fields


async def authorize(
    client: Any, app: dict[str, Any], username: str, *, scope: str = "read write follow",
    challenge: str | None = None, method: str = "S256", state: str = "st4te",
) -> str:
    """Log ``username`` in (unless logged in), consent, and return the app's code."""
    if (await client.get("/login")).status_code == 200:
        await login(client, username)
    query = {
        "client_id": app["client_id"], "redirect_uri": app["redirect_uri"].split("\n")[0],
        "response_type": "code", "scope": scope, "state": state,
    }
    if challenge:
        query.update(code_challenge=challenge, code_challenge_method=method)
    fields = await consent_form(client, query)
    response = await client.post("/oauth/authorize", form={**fields, "decision": "allow"})
    assert response.status_code == 302, await response.get_data(as_text=True)
    location = response.headers["Location"]
    answer = parse_qs(urlsplit(location).query)
    assert answer.get("state") == [state]
    return answer["code"][0]


async def oauth_token(
    client: Any, username: str, *, scope: str = "read write follow"
) -> str:
    """A person's access token, obtained through the full flow with PKCE S256."""
    app = await register_app(client)
    verifier, challenge = pkce_pair()
    code = await authorize(client, app, username, scope=scope, challenge=challenge)
    response = await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    })
    assert response.status_code == 200, await response.get_data(as_text=True)
    # The browser session used for consent is not needed any more.
    client.cookie_jar.clear()
    return str((await response.get_json())["access_token"])


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def missing(entity: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """The fields of ``fields`` that ``entity`` lacks."""
    return [name for name in fields if name not in entity]
