"""OAuth 2 for the Mastodon API: apps, consent, PKCE, tokens, scopes, revocation (issue 14).

Runs on SQLite and PostgreSQL through the real app with Quart's test client.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from fedi.domain.tokens import authenticate_token, create_token
from models import OAuthApp, OAuthCode, OAuthToken
from tests.mastodon_api.oauth_helpers import (
    APPLICATION_FIELDS,
    CREDENTIAL_APPLICATION_FIELDS,
    REDIRECT,
    TOKEN_FIELDS,
    authorize,
    bearer,
    consent_form,
    missing,
    oauth_token,
    pkce_pair,
    register_app,
)
from tests.tribe_helpers import csrf_of, login, make_person

pytestmark = pytest.mark.db


async def test_register_app_as_form_json_and_query(app: Any, client: Any) -> None:
    """Apps send the registration as a form, as JSON or in the query string."""
    form = await register_app(client, scopes="read write:statuses follow")
    assert not missing(form, CREDENTIAL_APPLICATION_FIELDS)
    assert form["scopes"] == ["read", "write:statuses", "follow"]
    assert form["redirect_uri"] == REDIRECT
    assert form["redirect_uris"] == [REDIRECT]
    as_json = await client.post("/api/v1/apps", json={
        "client_name": "Elk", "redirect_uris": ["https://elk.example/callback",
                                                "urn:ietf:wg:oauth:2.0:oob"],
        "scopes": "read write push",
    })
    assert as_json.status_code == 200
    body = await as_json.get_json()
    assert body["redirect_uris"] == ["https://elk.example/callback", "urn:ietf:wg:oauth:2.0:oob"]
    assert body["scopes"] == ["read", "write", "push"]
    by_query = await client.post(
        "/api/v1/apps/",
        query_string={"client_name": "Script", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
    )
    assert by_query.status_code == 200
    assert (await by_query.get_json())["scopes"] == ["read"]  # Mastodon's default
    # Secrets are stored hashed only.
    async with app.state.db.session() as db:
        rows = (await db.scalars(select(OAuthApp))).all()
    assert len(rows) == 3
    assert all(form["client_secret"] not in row.client_secret_hash for row in rows)


@pytest.mark.parametrize(
    ("redirect", "scopes"),
    [("javascript:alert(1)", "read"), ("https://x.example/#frag", "read"),
     ("", "read"), ("myapp://cb", "read sudo")],
)
async def test_register_app_refuses_bad_input(client: Any, redirect: str, scopes: str) -> None:
    """Unsafe redirect URIs and unknown scopes answer 422 with Mastodon's error shape."""
    response = await client.post("/api/v1/apps", form={
        "client_name": "Bad", "redirect_uris": redirect, "scopes": scopes,
    })
    assert response.status_code == 422
    assert set(await response.get_json()) == {"error"}


async def test_full_flow_with_pkce_s256(app: Any, client: Any) -> None:
    """Login, consent, code, PKCE exchange; the code works once; the token authenticates."""
    await make_person(app, "anna")
    registered = await register_app(client)
    verifier, challenge = pkce_pair()
    query = {
        "client_id": registered["client_id"], "redirect_uri": REDIRECT,
        "response_type": "code", "scope": "read write", "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "abc",
    }
    # Not logged in: the login page first, coming back here.
    first = await client.get("/oauth/authorize", query_string=query)
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login?next=/oauth/authorize")
    await login(client, "anna")
    fields = await consent_form(client, query)
    page = await (await client.get("/oauth/authorize", query_string=query)).get_data(
        as_text=True
    )
    assert "Test app" in page and "@anna" in page
    # The consent form is a form like any other: no CSRF token, no code.
    no_csrf = await client.post("/oauth/authorize", form={
        k: v for k, v in fields.items() if k != "csrf_token"
    } | {"decision": "allow"})
    assert no_csrf.status_code == 400
    allowed = await client.post("/oauth/authorize", form={**fields, "decision": "allow"})
    assert allowed.status_code == 302
    location = allowed.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    code = parse_qs(urlsplit(location).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code", "code": code,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
        "redirect_uri": REDIRECT,
    }
    wrong = await client.post("/oauth/token", form={**exchange, "code_verifier": "x" * 50})
    assert wrong.status_code == 400
    assert (await wrong.get_json())["error"] == "invalid_grant"
    good = await client.post("/oauth/token", form={**exchange, "code_verifier": verifier})
    assert good.status_code == 200
    token = await good.get_json()
    assert not missing(token, TOKEN_FIELDS)
    assert token["token_type"] == "Bearer" and token["scope"] == "read write"
    assert isinstance(token["created_at"], int)
    again = await client.post("/oauth/token", form={**exchange, "code_verifier": verifier})
    assert again.status_code == 400
    me = await client.get("/api/v1/accounts/verify_credentials",
                          headers=bearer(token["access_token"]))
    assert me.status_code == 200
    assert (await me.get_json())["username"] == "anna"
    own_app = await client.get("/api/v1/apps/verify_credentials",
                               headers=bearer(token["access_token"]))
    info = await (await client.get("/oauth/userinfo",
                                   headers=bearer(token["access_token"]))).get_json()
    assert info["preferred_username"] == "anna" and info["sub"].endswith("/users/anna")
    app_entity = await own_app.get_json()
    assert not missing(app_entity, APPLICATION_FIELDS)
    assert "client_secret" not in app_entity
    async with app.state.db.session() as db:
        stored = (await db.scalars(select(OAuthToken))).all()
        codes = (await db.scalars(select(OAuthCode))).all()
    assert [row.token_hash for row in stored] != [token["access_token"]]
    assert all(token["access_token"] not in row.token_hash for row in stored)
    assert all(code not in row.code_hash for row in codes)


async def test_plain_pkce_public_client_and_json_exchange(app: Any, client: Any) -> None:
    """A public client (no secret) with a plain challenge, exchanging with a JSON body."""
    await make_person(app, "bram")
    registered = await register_app(client)
    verifier = "v" * 64
    code = await authorize(client, registered, "bram", challenge=verifier, method="plain")
    response = await client.post("/oauth/token", json={
        "grant_type": "authorization_code", "code": code,
        "client_id": registered["client_id"], "code_verifier": verifier,
    })
    assert response.status_code == 200, await response.get_data(as_text=True)
    # Without a secret, a code without a challenge is refused.
    code2 = await authorize(client, registered, "bram")
    refused = await client.post("/oauth/token", json={
        "grant_type": "authorization_code", "code": code2,
        "client_id": registered["client_id"], "code_verifier": verifier,
    })
    assert refused.status_code == 400


async def test_client_secret_basic_and_wrong_secret(app: Any, client: Any) -> None:
    """HTTP Basic client authentication works; a wrong secret is 401 invalid_client."""
    await make_person(app, "cees")
    registered = await register_app(client)
    code = await authorize(client, registered, "cees")
    basic = base64.b64encode(
        f"{registered['client_id']}:{registered['client_secret']}".encode()
    ).decode()
    response = await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
    }, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    wrong = await client.post("/oauth/token", form={
        "grant_type": "client_credentials", "client_id": registered["client_id"],
        "client_secret": "nope",
    })
    assert wrong.status_code == 401
    assert (await wrong.get_json())["error"] == "invalid_client"


async def test_out_of_band_code_and_deny(app: Any, client: Any) -> None:
    """``urn:ietf:wg:oauth:2.0:oob`` shows the code on a page; "Deny" tells the app so."""
    await make_person(app, "dirk")
    oob = "urn:ietf:wg:oauth:2.0:oob"
    registered = await register_app(client, redirect=oob)
    await login(client, "dirk")
    fields = await consent_form(client, {"client_id": registered["client_id"],
                                         "redirect_uri": oob, "response_type": "code"})
    shown = await client.post("/oauth/authorize", form={**fields, "decision": "allow"})
    assert shown.status_code == 200
    body = await shown.get_data(as_text=True)
    assert 'id="oauth-code"' in body
    assert shown.headers["Cache-Control"] == "no-store"
    web = await register_app(client, redirect="https://web.example/cb")
    fields = await consent_form(client, {"client_id": web["client_id"],
                                         "redirect_uri": "https://web.example/cb",
                                         "state": "s1"})
    denied = await client.post("/oauth/authorize", form={**fields, "decision": "deny"})
    assert denied.status_code == 302
    answer = parse_qs(urlsplit(denied.headers["Location"]).query)
    assert answer["error"] == ["access_denied"] and answer["state"] == ["s1"]
    # A redirect URI the app did not register is never redirected to.
    bad = await client.get("/oauth/authorize", query_string={
        "client_id": web["client_id"], "redirect_uri": "https://evil.example/cb",
    })
    assert bad.status_code == 400
    assert "Location" not in bad.headers


async def test_client_credentials_token(app: Any, client: Any) -> None:
    """An app token reads app endpoints; a person's endpoint answers 422 to it."""
    registered = await register_app(client)
    response = await client.post("/oauth/token", form={
        "grant_type": "client_credentials", "client_id": registered["client_id"],
        "client_secret": registered["client_secret"], "scope": "read",
    })
    assert response.status_code == 200
    token = (await response.get_json())["access_token"]
    own = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert (await own.get_json())["name"] == "Test app"
    person = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert person.status_code == 422
    unsupported = await client.post("/oauth/token", form={
        "grant_type": "password", "client_id": registered["client_id"],
        "client_secret": registered["client_secret"], "username": "x", "password": "y",
    })
    assert unsupported.status_code == 400
    assert (await unsupported.get_json())["error"] == "unsupported_grant_type"


async def test_scopes_limit_what_a_token_does(app: Any, client: Any) -> None:
    """A read-only token may read but not write (403); C2S needs read and write."""
    await make_person(app, "eva")
    other = await make_person(app, "fien")
    read_only = await oauth_token(client, "eva", scope="read")
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(read_only))).status_code == 200
    follow = await client.post(f"/api/v1/accounts/{other.id}/follow", headers=bearer(read_only))
    assert follow.status_code == 403
    assert await follow.get_json() == {"error": "This action is outside the authorized scopes"}
    full = await oauth_token(client, "eva", scope="read write follow")
    async with app.state.db.session() as db:
        assert await authenticate_token(db, read_only) is None
        user = await authenticate_token(db, full)
        assert user is not None and user.actor.username == "eva"
    # The OAuth token posts to the C2S outbox like a ``fedi token create`` token.
    note = await client.post("/users/eva/outbox", json={
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
        "content": "Hallo via OAuth", "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }, headers={**bearer(full), "Content-Type": "application/activity+json"})
    assert note.status_code == 201, await note.get_data(as_text=True)
    refused = await client.post("/users/eva/outbox", json={
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
        "content": "Nee", "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }, headers={**bearer(read_only), "Content-Type": "application/activity+json"})
    assert refused.status_code == 401


async def test_cli_tokens_work_on_the_api(app: Any, client: Any) -> None:
    """A ``fedi token create`` token is accepted by the Mastodon API with every scope."""
    await make_person(app, "gert")
    async with app.state.db.session() as db:
        token = await create_token(db, "gert", "script")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert response.status_code == 200
    missing_token = await client.get("/api/v1/accounts/verify_credentials")
    assert missing_token.status_code == 401
    assert "error" in await missing_token.get_json()
    assert missing_token.headers["WWW-Authenticate"].startswith("Bearer")
    bad = await client.get("/api/v1/accounts/verify_credentials", headers=bearer("fpa_nope"))
    assert bad.status_code == 401


async def test_revoke_and_account_page(app: Any, client: Any) -> None:
    """``/oauth/revoke`` ends a token; the account page lists apps and disconnects them."""
    await make_person(app, "hans")
    registered = await register_app(client)
    code = await authorize(client, registered, "hans")
    token = (await (await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
    })).get_json())["access_token"]
    page = await (await client.get("/account")).get_data(as_text=True)
    assert "Test app" in page and "account-apps" in page
    wrong_app = await register_app(client)
    foreign = await client.post("/oauth/revoke", form={
        "client_id": wrong_app["client_id"], "client_secret": wrong_app["client_secret"],
        "token": token,
    })
    assert foreign.status_code == 200  # RFC 7009, but the token stays valid
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(token))).status_code == 200
    revoked = await client.post("/oauth/revoke", form={
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
        "token": token,
    })
    assert revoked.status_code == 200 and await revoked.get_json() == {}
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(token))).status_code == 401
    # A second token, disconnected from the account page.
    code = await authorize(client, registered, "hans")
    token2 = (await (await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
    })).get_json())["access_token"]
    async with app.state.db.session() as db:
        app_id = (await db.scalars(
            select(OAuthApp.id).where(OAuthApp.client_id == registered["client_id"])
        )).one()
    csrf = await csrf_of(client, "/account")
    gone = await client.post(f"/account/apps/{app_id}/revoke", form={"csrf_token": csrf})
    assert gone.status_code == 302
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers=bearer(token2))).status_code == 401


async def test_force_login_logs_the_browser_out(app: Any, client: Any) -> None:
    """``force_login=true`` ends the browser session and asks for a login again."""
    await make_person(app, "ilse")
    registered = await register_app(client)
    await login(client, "ilse")
    response = await client.get("/oauth/authorize", query_string={
        "client_id": registered["client_id"], "redirect_uri": REDIRECT, "force_login": "true",
    })
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    assert "force_login" not in location
    account = await client.get("/account")
    assert account.status_code == 302  # logged out


async def test_server_metadata_cors_and_trailing_slash(client: Any) -> None:
    """RFC 8414 metadata; CORS with preflight; routes with and without ``/``."""
    meta = await client.get("/.well-known/oauth-authorization-server")
    body = await meta.get_json()
    assert body["token_endpoint"].endswith("/oauth/token")
    assert "S256" in body["code_challenge_methods_supported"]
    assert "read:statuses" in body["scopes_supported"]
    assert meta.headers["Access-Control-Allow-Origin"] == "*"
    preflight = await client.options("/api/v1/apps", headers={
        "Origin": "https://elk.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Link" in preflight.headers["Access-Control-Expose-Headers"]
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        assert (await client.get(path)).status_code == 200
    unknown = await client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"


async def test_app_registration_is_rate_limited(client: Any) -> None:
    """Registration needs no account, so one address may register only so many apps."""
    from fedi.domain.oauth import APPS_PER_IP

    statuses = []
    for number in range(APPS_PER_IP.count + 1):
        response = await client.post("/api/v1/apps", form={
            "client_name": f"App {number}", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        })
        statuses.append(response.status_code)
    assert statuses[:-1] == [200] * APPS_PER_IP.count
    assert statuses[-1] == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "error" in await response.get_json()


async def test_token_endpoint_cors_but_not_the_consent_page(client: Any) -> None:
    """Web clients on other origins may call the token endpoint; the consent page, which
    carries a person's session, is not readable cross-origin."""
    token = await client.options("/oauth/token", headers={
        "Origin": "https://phanpy.example", "Access-Control-Request-Method": "POST",
    })
    assert token.headers["Access-Control-Allow-Origin"] == "*"
    page = await client.get("/oauth/authorize", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_pkce_and_scope_rules() -> None:
    """RFC 7636 appendix B's example, and how broad scopes cover granular ones."""
    from fedi.domain import oauth

    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256")
    assert not oauth.pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
                                  "S256")
    assert oauth.pkce_matches(verifier, verifier, "plain")
    assert oauth.grants(["read"], "read:statuses")
    assert not oauth.grants(["read"], "write:statuses")
    assert oauth.grants(["follow"], "write:follows")
    assert not oauth.grants(["follow"], "write:statuses")
    assert oauth.grants(["read:accounts"], "profile")
    assert not oauth.grants(["write"], "profile")
    assert oauth.parse_scopes("read+write, follow") == ["read", "write", "follow"]


async def test_expired_code_and_bad_challenges(app: Any, client: Any) -> None:
    """A code older than ten minutes is refused; malformed PKCE parameters show an error
    page instead of a consent page."""
    await make_person(app, "joop")
    registered = await register_app(client)
    code = await authorize(client, registered, "joop")
    async with app.state.db.session() as db:
        for row in (await db.scalars(select(OAuthCode))).all():
            row.expires_at = row.created_at - timedelta(seconds=1)
    expired = await client.post("/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": registered["client_id"], "client_secret": registered["client_secret"],
    })
    assert expired.status_code == 400
    assert (await expired.get_json())["error"] == "invalid_grant"
    for challenge, method in (("short", "S256"), ("x" * 50, "S512")):
        page = await client.get("/oauth/authorize", query_string={
            "client_id": registered["client_id"], "redirect_uri": REDIRECT,
            "code_challenge": challenge, "code_challenge_method": method,
        })
        assert page.status_code == 400
    unknown_scope = await client.get("/oauth/authorize", query_string={
        "client_id": registered["client_id"], "redirect_uri": REDIRECT, "scope": "admin:write",
    })
    assert unknown_scope.status_code == 400
