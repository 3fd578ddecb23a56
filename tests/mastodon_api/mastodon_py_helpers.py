"""Mastodon.py, the Mastodon client library, logged in to a live ``fedi serve`` as an app
would: register the app, a person logs in on the consent page and allows, the code is
exchanged for a token."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import mastodon

from tests.live_helpers import web_login

REDIRECT = "nl.plein.app://oauth"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def oauth_login(
    server: Any, name: str, scopes: Sequence[str] = ("read", "write", "follow")
) -> Any:
    """Mastodon.py logged in as ``name`` through the OAuth flow and the consent page."""
    base = server.base_url
    wanted = list(scopes)
    client_id, client_secret = mastodon.Mastodon.create_app(
        "Plein-app", scopes=wanted, redirect_uris=REDIRECT, api_base_url=base,
    )
    api = mastodon.Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=base,
        version_check_mode="none", request_timeout=30,
    )
    url = api.auth_request_url(redirect_uris=REDIRECT, scopes=wanted, allow_http=True)
    with httpx.Client(timeout=30) as web:
        web_login(web, base, name)
        page = web.get(url)
        assert page.status_code == 200, page.text[:300]
        fields = dict(_HIDDEN.findall(page.text))
        answer = web.post(f"{base}/oauth/authorize", data={**fields, "decision": "allow"})
        assert answer.status_code == 302, answer.text[:300]
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    api.log_in(code=code, redirect_uri=REDIRECT, scopes=wanted, allow_http=True)
    return api
