"""Helpers for the tests of restricted (members-only, private) initiatives across instances.

Import as ``from restricted_helpers import ...`` (pytest puts tests/federation on sys.path).
``instances`` builds in-process apps on one routing transport: the first (A, localhost:8001,
the tribe's server in these tests) on the parametrised database, the others on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from harness import AppPair, make_app
from routing import RoutingTransport
from sqlalchemy import select
from tribe_fed_helpers import RecordingServer
from tribe_helpers import login

from activitypub.fetcher import Fetcher, FetchError
from activitypub.http_signatures import sign_request
from fedi.domain import follows, tribe_members
from fedi.federation.remote.actors import resolve_handle
from fedi.federation.runtime import get_federation, signing_key_of
from fedi.state import FediApp
from models import Actor, Tribe

__all__ = [
    "approve",
    "follow_group",
    "instances",
    "page_status",
    "signed_fetch",
    "signed_get_as",
    "told",
]


@asynccontextmanager
async def instances(tmp_path: Path, db_target: Any, count: int = 2) -> AsyncIterator[AppPair]:
    """``count`` apps at localhost:8001.. (A on ``db_target``), inside ``test_app()``."""
    router = RoutingTransport()
    apps = [
        await make_app(
            tmp_path, 8001, router, database_url=db_target.url,
            database_schema=db_target.schema,
        )
    ]
    for number in range(1, count):
        apps.append(await make_app(tmp_path, 8001 + number, router))
    contexts = [app.test_app() for app in apps]
    for context in contexts:
        await context.__aenter__()
    try:
        yield AppPair(apps[0], apps[1], router, extra=apps[2:])
    finally:
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)
        await router.close()


async def actor(db: Any, ap_id: str) -> Actor:
    """The actor row ``ap_id`` (it must exist)."""
    found = await db.scalar(select(Actor).where(Actor.ap_id == ap_id))
    assert found is not None, ap_id
    return found


async def follow_group(app: FediApp, username: str, handle: str) -> None:
    """The local ``username`` on ``app`` follows (joins) the tribe ``handle`` elsewhere."""
    async with app.state.db.session() as db:
        person = await actor(db, app.state.settings.url(f"/users/{username}"))
        group = await resolve_handle(app.state, db, handle)
        await follows.follow(db, app.state, person, group)


async def approve(app: FediApp, slug: str, admin: str, ap_id: str) -> None:
    """The tribe's admin lets the pending request of ``ap_id`` in."""
    async with app.state.db.session() as db:
        tribe = await db.scalar(select(Tribe).where(Tribe.slug == slug))
        assert tribe is not None
        by = await actor(db, app.state.settings.url(f"/users/{admin}"))
        await tribe_members.approve_request(
            db, app.state.settings, tribe, by, await actor(db, ap_id)
        )


async def signed_fetch(app: FediApp, username: str | None, url: str) -> dict[str, Any] | int:
    """GET ``url`` from ``app`` signed by its local ``username`` (None: its instance actor);
    the JSON, or the HTTP status of a failure."""
    federation = get_federation(app.state)
    if username is None:
        key = federation.instance_key
    else:
        async with app.state.db.session() as db:
            key = signing_key_of(await actor(db, app.state.settings.url(f"/users/{username}")))
    fetcher = Fetcher(app.state.http, federation.policy, signer=key, instance_signer=None)
    try:
        return await fetcher.fetch_json(url)
    except FetchError as exc:
        return exc.status or 0


async def signed_get_as(app: FediApp, key_id: str, private_pem: str, path: str) -> Any:
    """GET ``path`` on ``app`` through its test client, signed with the given key."""
    url = app.state.settings.base_url + path
    headers = {"Accept": "application/activity+json"}
    headers.update(sign_request("GET", url, {}, None, key_id, private_pem))
    return await app.test_client().get(path, headers=headers)


def told(server: RecordingServer, text: str) -> list[dict[str, Any]]:
    """Every activity POSTed to ``server`` whose JSON mentions ``text`` anywhere."""
    return [doc for _path, doc in server.posts if text in orjson.dumps(doc).decode()]


async def page_status(app: FediApp, path: str, username: str | None = None) -> int:
    """The status of the HTML page ``path`` for ``username`` logged in (None: anonymous)."""
    client = app.test_client()
    if username is not None:
        await login(client, username)
    return (await client.get(path)).status_code
