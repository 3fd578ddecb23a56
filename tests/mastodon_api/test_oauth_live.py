"""The Mastodon API end to end against a real ``fedi serve``, with the Mastodon.py library.

An app registers, a resident consents on the real consent page (driven with httpx: log
in, read the form, post the answer), the code is exchanged with PKCE, and the library then
reads the instance and the account, and follows a tribe that needs approval; its admin
accepts on the tribe's members page and the relationship turns into ``following``.
Because Mastodon.py tolerates missing fields, the raw JSON is checked too.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mastodon import Mastodon

from tests.live_helpers import PASSWORD, csrf_of, wait_for, web_login
from tests.mastodon_api.oauth_helpers import (
    ACCOUNT_FIELDS,
    APPLICATION_FIELDS,
    RELATIONSHIP_FIELDS,
    TOKEN_FIELDS,
    missing,
)

pytestmark = pytest.mark.live

REDIRECT = "nl.buurt.app://oauth"
SCOPES = ["read", "write", "follow"]
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _consent(web: httpx.Client, url: str) -> str:
    """Open the consent page at ``url`` (logged in), allow, and return the code."""
    page = web.get(url)
    assert page.status_code == 200, page.text[:500]
    fields = dict(_HIDDEN.findall(page.text))
    assert "csrf_token" in fields and fields["client_id"]
    answer = web.post(url.split("?")[0].rsplit("/oauth/", 1)[0] + "/oauth/authorize",
                      data={**fields, "decision": "allow"})
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


def test_mastodon_py_logs_in_and_joins_an_approval_tribe(live_server_factory: Any) -> None:
    """Register, consent, PKCE exchange, instance, verify_credentials, follow a tribe that
    needs approval, the admin accepts, following."""
    server = live_server_factory()
    base = server.base_url
    for name in ("alice", "bob"):
        server.cli("user", "create", name, "--email", f"{name}@example.org",
                   "--password", PASSWORD)
    server.cli("tribe", "create", "tuin", "--name", "De Tuin", "--owner", "alice",
               "--join", "approval")

    client_id, client_secret = Mastodon.create_app(
        "Buurtapp", scopes=SCOPES, redirect_uris=REDIRECT, website="https://buurt.example",
        api_base_url=base,
    )
    app_api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()
    ).rstrip(b"=").decode()
    url = app_api.auth_request_url(
        redirect_uris=REDIRECT, scopes=SCOPES, state="s-1", allow_http=True,
    ) + f"&code_challenge={challenge}&code_challenge_method=S256"
    assert url.startswith(base + "/oauth/authorize?")

    with httpx.Client(timeout=20) as web:
        # Not logged in yet: the consent page sends the browser to the login form first.
        first = web.get(url)
        assert first.status_code == 302 and first.headers["Location"].startswith("/login")
        web_login(web, base, "bob")
        code = _consent(web, url)
        token_response = web.post(f"{base}/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret, "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        })
        assert token_response.status_code == 200, token_response.text
        token_json = token_response.json()
        assert not missing(token_json, TOKEN_FIELDS)
        access_token = token_json["access_token"]

        bob = Mastodon(access_token=access_token, api_base_url=base)
        instance = bob.instance()
        assert str(instance["version"]).startswith("4.3.0 (compatible; fedi-partup")
        me = bob.account_verify_credentials()
        assert me["username"] == "bob" and me["source"]["privacy"] == "public"
        tribe = bob.account_lookup("tuin")
        assert tribe["group"] is True and tribe["locked"] is True
        relationship = bob.account_follow(tribe["id"])
        assert relationship["requested"] is True and relationship["following"] is False

        # The raw JSON, as strict apps parse it.
        headers = {"Authorization": f"Bearer {access_token}"}
        raw_me = web.get(f"{base}/api/v1/accounts/verify_credentials", headers=headers).json()
        assert not missing(raw_me, ACCOUNT_FIELDS)
        raw_rel = web.get(f"{base}/api/v1/accounts/relationships",
                          params={"id[]": tribe["id"]}, headers=headers).json()
        assert not missing(raw_rel[0], RELATIONSHIP_FIELDS)
        raw_app = web.get(f"{base}/api/v1/apps/verify_credentials", headers=headers).json()
        assert not missing(raw_app, APPLICATION_FIELDS)
        raw_v2 = web.get(f"{base}/api/v2/instance").json()
        assert raw_v2["domain"] == server.host and raw_v2["api_versions"]["mastodon"] == 2

    # alice, the tribe's admin, lets bob in on the members page.
    with httpx.Client(timeout=20) as admin:
        web_login(admin, base, "alice")
        page = admin.get(f"{base}/tribes/tuin/members")
        action = re.search(r'action="(/tribes/tuin/members/\d+/approve)"', page.text)
        assert action is not None, page.text[:1000]
        token = csrf_of(admin, f"{base}/tribes/tuin/members")
        approved = admin.post(base + action.group(1), data={"csrf_token": token})
        assert approved.status_code in (302, 303)

    def following() -> bool:
        return bool(bob.account_relationships([tribe["id"]])[0]["following"])

    wait_for(following, "bob to be a member of the tribe", [server])
    members = bob.account_followers(tribe["id"])
    assert {m["username"] for m in members} == {"alice", "bob"}

    # Mastodon.py's own code exchange (client secret, no PKCE) works as well.
    with httpx.Client(timeout=20) as web:
        web_login(web, base, "alice")
        plain_url = app_api.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES,
                                             state="s-2", allow_http=True)
        code = _consent(web, plain_url)
    alice_api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    alice_api.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    assert alice_api.me()["username"] == "alice"
    requests = alice_api.follow_requests()
    assert requests == []
