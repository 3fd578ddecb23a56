"""Instance documents and the lists apps read on start (issue 14), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fedi import __version__
from tests.mastodon_api.oauth_helpers import ACCOUNT_FIELDS, bearer, missing, oauth_token
from tests.tribe_helpers import make_person

pytestmark = pytest.mark.db

V1_FIELDS = (
    "uri", "title", "short_description", "description", "email", "version", "urls", "stats",
    "thumbnail", "languages", "registrations", "approval_required", "invites_enabled",
    "configuration", "contact_account", "rules",
)
V2_FIELDS = (
    "domain", "title", "version", "source_url", "description", "usage", "thumbnail",
    "languages", "configuration", "registrations", "contact", "rules", "api_versions",
)
CONFIGURATION_FIELDS = ("accounts", "statuses", "media_attachments", "polls")


async def test_instance_v1(app: Any, client: Any) -> None:
    """Version 1: every field, the Mastodon version apps parse, our limits, the contact."""
    await make_person(app, "beheer", is_admin=True)
    body = await (await client.get("/api/v1/instance")).get_json()
    assert not missing(body, V1_FIELDS)
    assert re.match(r"^4\.3\.0 \(compatible; fedi-partup .+\)$", body["version"])
    assert __version__ in body["version"]
    assert body["uri"] == "localhost:8000"
    assert body["urls"]["streaming_api"] == "ws://localhost:8000"
    assert not missing(body["configuration"], CONFIGURATION_FIELDS)
    assert body["configuration"]["statuses"]["max_characters"] == 5000
    assert "image/png" in body["configuration"]["media_attachments"]["supported_mime_types"]
    assert body["stats"]["user_count"] == 1
    assert not missing(body["contact_account"], ACCOUNT_FIELDS)
    assert body["contact_account"]["username"] == "beheer"
    assert isinstance(body["registrations"], bool)


async def test_instance_v2(client: Any) -> None:
    """Version 2: every field, the streaming URL, registrations, no contact when no admin."""
    response = await client.get("/api/v2/instance")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = await response.get_json()
    assert not missing(body, V2_FIELDS)
    assert body["domain"] == "localhost:8000"
    assert body["version"].startswith("4.3.0 (compatible; ")
    assert body["configuration"]["urls"]["streaming"] == "ws://localhost:8000"
    assert not missing(body["configuration"], CONFIGURATION_FIELDS)
    assert set(body["registrations"]) >= {"enabled", "approval_required", "message"}
    assert body["contact"]["account"] is None
    assert body["thumbnail"]["url"].endswith("/static/mastodon/header.png")
    image = await client.get("/static/mastodon/header.png")
    assert image.status_code == 200 and image.mimetype == "image/png"


async def test_nodeinfo_names_the_mastodon_api(client: Any) -> None:
    """NodeInfo says a Mastodon-compatible client API is here."""
    body = await (await client.get("/nodeinfo/2.1")).get_json()
    assert "mastodon_api" in body["metadata"]["features"]


async def test_preferences_and_empty_lists(app: Any, client: Any) -> None:
    """Preferences, and valid empty lists for what we do not have."""
    await make_person(app, "anna")
    token = await oauth_token(client, "anna")
    prefs = await (await client.get("/api/v1/preferences", headers=bearer(token))).get_json()
    assert prefs["posting:default:visibility"] == "public"
    assert "reading:expand:spoilers" in prefs
    for path in (
        "/api/v1/filters", "/api/v2/filters", "/api/v1/announcements", "/api/v1/followed_tags",
        "/api/v1/featured_tags", "/api/v1/lists", "/api/v1/blocks", "/api/v1/mutes",
        "/api/v1/domain_blocks", "/api/v1/endorsements", "/api/v2/suggestions",
    ):
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, path
        assert await response.get_json() == [], path
        assert (await client.get(path)).status_code == 401, path
    for path in ("/api/v1/custom_emojis", "/api/v1/trends/tags", "/api/v1/trends/statuses",
                 "/api/v1/trends/links", "/api/v1/trends", "/api/v1/instance/rules"):
        response = await client.get(path)
        assert response.status_code == 200 and await response.get_json() == [], path
