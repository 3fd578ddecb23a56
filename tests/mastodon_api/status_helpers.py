"""Helpers for the status, timeline and notification tests of the Mastodon API."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image

from fedi.domain.tokens import create_token
from fedi.state import FediApp
from tests.mastodon_api.oauth_helpers import bearer
from tests.tribe_helpers import make_person

# Every field of Mastodon 4.3's Status that strict clients parse.
STATUS_FIELDS = (
    "id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
    "spoiler_text", "media_attachments", "mentions", "tags", "emojis", "reblogs_count",
    "favourites_count", "replies_count", "in_reply_to_id", "in_reply_to_account_id",
    "reblog", "poll", "card", "language", "favourited", "reblogged", "bookmarked", "muted",
    "pinned", "edited_at", "application", "filtered",
)
MEDIA_FIELDS = (
    "id", "type", "url", "preview_url", "remote_url", "preview_remote_url", "text_url",
    "meta", "description", "blurhash",
)
NOTIFICATION_FIELDS = ("id", "type", "created_at", "account", "status", "group_key")
MENTION_FIELDS = ("id", "username", "url", "acct")
TAG_FIELDS = ("name", "url", "history")
MS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _png() -> bytes:
    """A small real PNG (uploads are decoded and re-encoded, so it must be a valid one)."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


async def person_token(app: FediApp, name: str) -> tuple[int, str]:
    """A local person and a ``fedi token create`` token for them: (actor id, token)."""
    actor = await make_person(app, name)
    async with app.state.db.session() as db:
        token = await create_token(db, name, "api test")
    return actor.id, token


async def post_status(client: Any, token: str, **fields: Any) -> dict[str, Any]:
    """``POST /api/v1/statuses`` as a form; asserts 200 and returns the status."""
    response = await client.post("/api/v1/statuses", form=fields, headers=bearer(token))
    assert response.status_code == 200, await response.get_data(as_text=True)
    return dict(await response.get_json())


async def get_json(client: Any, path: str, token: str | None = None, status: int = 200) -> Any:
    """GET ``path`` (with ``token``) and return its JSON, asserting the status code."""
    response = await client.get(path, headers=bearer(token) if token else {})
    assert response.status_code == status, await response.get_data(as_text=True)
    return await response.get_json()


def status_problems(status: dict[str, Any]) -> list[str]:
    """What a strict client would trip over in a Status: missing fields, bad types."""
    problems = [f"missing {name}" for name in STATUS_FIELDS if name not in status]
    if not isinstance(status.get("id"), str):
        problems.append("id not a string")
    if not MS_TIMESTAMP.match(str(status.get("created_at"))):
        problems.append(f"created_at {status.get('created_at')!r}")
    for name in ("media_attachments", "mentions", "tags", "emojis", "filtered"):
        if not isinstance(status.get(name), list):
            problems.append(f"{name} not a list")
    for name in ("reblogs_count", "favourites_count", "replies_count"):
        if not isinstance(status.get(name), int):
            problems.append(f"{name} not an int")
    for name in ("sensitive",):
        if not isinstance(status.get(name), bool):
            problems.append(f"{name} not a bool")
    if status.get("visibility") not in ("public", "unlisted", "private", "direct"):
        problems.append(f"visibility {status.get('visibility')!r}")
    for media in status.get("media_attachments") or []:
        problems.extend(f"media: missing {n}" for n in MEDIA_FIELDS if n not in media)
    for mention in status.get("mentions") or []:
        problems.extend(f"mention: missing {n}" for n in MENTION_FIELDS if n not in mention)
    if isinstance(status.get("reblog"), dict):
        problems.extend("reblog: " + p for p in status_problems(status["reblog"]))
    return problems


def link_of(response: Any, rel: str) -> str | None:
    """The URL of ``rel`` in a response's ``Link`` header (path and query only)."""
    header = response.headers.get("Link", "")
    for part in header.split(","):
        found = re.match(r'\s*<([^>]+)>;\s*rel="([^"]+)"', part)
        if found and found.group(2) == rel:
            url = found.group(1)
            return url[url.index("/api/"):]
    return None
