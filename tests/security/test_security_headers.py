"""Security headers on every response, as Mastodon sends them; HSTS only on https instances.

Before: no ``Strict-Transport-Security``, ``Permissions-Policy`` or
``Cross-Origin-Opener-Policy`` at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from account_helpers import make_user

from fedi.app import create_app
from fedi.http.headers import HSTS, PERMISSIONS_POLICY
from fedi.settings import Settings
from fedi.state import FediApp

PATHS = ["/", "/login", "/users/alice", "/.well-known/nodeinfo", "/no-such-page"]


async def _headers_of(app: FediApp, path: str) -> Any:
    response = await app.test_client().get(
        path, headers={"Accept": "application/activity+json"} if "users" in path else {}
    )
    assert response.status_code < 500, path
    return response.headers


@pytest.fixture
async def https_app(settings: Settings) -> AsyncIterator[FediApp]:
    application = create_app(settings.with_changes(base_url="https://social.example"))
    await application.state.db.upgrade()
    async with application.test_app():
        yield application


async def test_every_response_carries_the_headers_without_hsts_on_http(app: FediApp) -> None:
    await make_user(app, "alice")
    for path in PATHS:
        headers = await _headers_of(app, path)
        assert headers["Permissions-Policy"] == PERMISSIONS_POLICY, path
        assert "interest-cohort=()" in headers["Permissions-Policy"]
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        # Plain http (development, tests): HSTS would lock browsers out of it.
        assert "Strict-Transport-Security" not in headers, path


async def test_https_instances_send_hsts(https_app: FediApp) -> None:
    await make_user(https_app, "alice")
    for path in PATHS:
        headers = await _headers_of(https_app, path)
        assert headers["Strict-Transport-Security"] == HSTS, path
        assert headers["Strict-Transport-Security"].startswith("max-age=63072000")
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
    # Pages served from the anonymous page cache keep them too.
    for _ in range(2):
        headers = await _headers_of(https_app, "/")
        assert headers["Strict-Transport-Security"] == HSTS
        assert headers["Permissions-Policy"] == PERMISSIONS_POLICY
