"""Helpers for the client-to-server tests: post to an outbox with a token, read rows back.

Import as ``from c2s_helpers import ...`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

from typing import Any

import orjson

from fedi.domain.tokens import create_token
from fedi.state import FediApp

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
AP = "application/activity+json"


async def token_of(app: FediApp, username: str) -> str:
    """A fresh C2S bearer token for the local person ``username``."""
    async with app.state.db.session() as db:
        return await create_token(db, username, "c2s test")


async def post(
    app: FediApp, path: str, token: str | None, body: dict[str, Any]
) -> tuple[int, Any, Any]:
    """POST ``body`` to ``path`` (an outbox) with ``token``; (status, JSON body, headers)."""
    headers = {"Content-Type": AP}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    resp = await app.test_client().post(path, data=orjson.dumps(body), headers=headers)
    return resp.status_code, await resp.get_json(), resp.headers


async def act(app: FediApp, name: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to ``name``'s outbox and insist on 201; return the stored activity."""
    status, doc, headers = await post(app, f"/users/{name}/outbox", token, {"@context": AS, **body})
    assert status == 201, (body, status, doc)
    assert headers["Location"] == doc["id"]
    return dict(doc)


async def refused(
    app: FediApp, name: str, token: str, body: dict[str, Any], status: int
) -> dict[str, Any]:
    """POST ``body`` to ``name``'s outbox and insist on the error ``status``."""
    got, doc, _headers = await post(app, f"/users/{name}/outbox", token, {"@context": AS, **body})
    assert got == status, (body, got, doc)
    assert "error" in doc
    return dict(doc)


async def get_json(
    app: FediApp, url: str, token: str | None = None, **headers: str
) -> tuple[int, Any, Any]:
    """GET ``url`` (an id of ``app``) as ActivityPub JSON, with ``token`` if given."""
    sent = {"Accept": AP, **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    path = url.removeprefix(app.state.settings.base_url)
    resp = await app.test_client().get(path, headers=sent)
    body = await resp.get_json() if resp.status_code < 300 or "json" in (
        resp.headers.get("Content-Type") or ""
    ) else None
    return resp.status_code, body, resp.headers
