"""Helpers for the tribes federation tests: recording fake servers and quick deliveries.

Import as ``from tribe_fed_helpers import ...`` (pytest puts tests/federation on sys.path).
"""

from __future__ import annotations

from typing import Any

import orjson
from fakes import FakeActor, FakeServer
from sqlalchemy import select

from fedi.domain import tribes
from fedi.domain.accounts import create_user
from fedi.state import FediApp
from models import Actor, ApObject, HeldPost, Report, Tribe, TribeMember, TribePost

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
AP_HEADERS = {"Accept": "application/activity+json"}
PASSWORD = "correct horse battery staple 42"


class RecordingServer(FakeServer):
    """A fake remote server that also keeps every JSON body POSTed to it."""

    def __init__(self, host: str) -> None:
        """Create the server for ``host``."""
        super().__init__(host)
        self.posts: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Record POST bodies, then answer like :class:`FakeServer`."""
        if scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.posts.append((scope["path"], orjson.loads(body)))
        await super().__call__(scope, receive, send)

    def received(self, kind: str, inner: str | None = None) -> list[dict[str, Any]]:
        """The activities of ``kind`` received (with an embedded ``inner`` type if given)."""
        out = []
        for _path, doc in self.posts:
            if doc.get("type") != kind:
                continue
            obj = doc.get("object")
            if inner is not None and not (isinstance(obj, dict) and obj.get("type") == inner):
                continue
            out.append(doc)
        return out

    def boosts(self) -> list[dict[str, Any]]:
        """Announces of a bare object id (what Mastodon shows as a boost)."""
        return [d for d in self.received("Announce") if isinstance(d.get("object"), str)]


def remote(router: Any, host: str, name: str, flavour: str = "mastodon") -> tuple[
    RecordingServer, FakeActor
]:
    """A recording fake server on ``host`` with one actor ``/users/<name>``."""
    server = RecordingServer(host)
    router.add(host, server)
    path = f"/u/{name}" if flavour == "lemmy" else f"/users/{name}"
    return server, FakeActor(server, path, flavour=flavour)


async def deliver(
    app: FediApp, actor: FakeActor, activity: dict[str, Any], path: str = "/inbox"
) -> int:
    """POST ``activity`` signed by ``actor`` to ``path`` on ``app``; return the status."""
    body = orjson.dumps(activity)
    headers = actor.signed_post(f"{app.state.settings.base_url}{path}", body)
    response = await app.test_client().post(path, data=body, headers=headers)
    return response.status_code


async def person(app: FediApp, username: str) -> Actor:
    """A local person with an account."""
    async with app.state.db.session() as db:
        user = await create_user(
            db, app.state.settings, username=username, email=f"{username}@example.org",
            password=PASSWORD,
        )
        return user.actor


async def tribe(app: FediApp, slug: str, owner: Actor, join_mode: str = "open") -> Tribe:
    """A tribe created by ``owner``."""
    async with app.state.db.session() as db:
        creator = await db.get(Actor, owner.id)
        assert creator is not None
        return await tribes.create_tribe(
            db, app.state.settings, creator, slug=slug, name=slug.title(), join_mode=join_mode
        )


async def member_state(app: FediApp, slug: str, ap_id: str) -> str | None:
    """The membership state of ``ap_id`` in tribe ``slug`` (None: no row)."""
    async with app.state.db.session() as db:
        row = await db.scalar(
            select(TribeMember)
            .join(Tribe, Tribe.id == TribeMember.tribe_id)
            .join(Actor, Actor.id == TribeMember.actor_id)
            .where(Tribe.slug == slug, Actor.ap_id == ap_id)
        )
        return row.state if row is not None else None


async def tribe_posts(app: FediApp, slug: str) -> list[tuple[str, bool, str]]:
    """The tribe's posts as (object id, is_reply, state), oldest first."""
    async with app.state.db.session() as db:
        rows = await db.scalars(
            select(TribePost)
            .join(Tribe, Tribe.id == TribePost.tribe_id)
            .where(Tribe.slug == slug)
            .order_by(TribePost.id)
        )
        return [(r.object_ap_id, r.is_reply, r.state) for r in rows.unique().all()]


async def held_posts(app: FediApp) -> list[HeldPost]:
    """Every held post on ``app``."""
    async with app.state.db.session() as db:
        return list((await db.scalars(select(HeldPost))).unique().all())


async def reports(app: FediApp) -> list[Report]:
    """Every report on ``app``."""
    async with app.state.db.session() as db:
        return list((await db.scalars(select(Report))).unique().all())


async def stored(app: FediApp, ap_id: str) -> ApObject | None:
    """The stored object ``ap_id``."""
    async with app.state.db.session() as db:
        return await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))
