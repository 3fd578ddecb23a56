"""Helpers for the social federation tests: people, tokens and quick reads of an app's rows.

Import as ``from social_helpers import ...`` (pytest puts tests/federation on sys.path).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from fedi.domain.accounts import create_user
from fedi.domain.tokens import create_token
from fedi.state import FediApp
from models import Actor, ApObject, Follow, InboxEntry, Reaction

PASSWORD = "correct horse battery staple 42"
AP_HEADERS = {"Accept": "application/activity+json"}


async def make_person(app: FediApp, username: str, *, locked: bool = False) -> Actor:
    """Create a local person on ``app`` (optionally approving followers by hand)."""
    state = app.state
    async with state.db.session() as db:
        user = await create_user(
            db, state.settings, username=username, email=f"{username}@example.org",
            password=PASSWORD,
        )
        user.actor.manually_approves_followers = locked
        actor = user.actor
    return actor


async def token_for(app: FediApp, username: str) -> str:
    """A fresh C2S bearer token for ``username`` on ``app``."""
    async with app.state.db.session() as db:
        return await create_token(db, username, "test")


async def actor(app: FediApp, ap_id: str) -> Actor | None:
    """The actor row with ``ap_id`` on ``app``."""
    async with app.state.db.session() as db:
        return await db.scalar(select(Actor).where(Actor.ap_id == ap_id))


async def local(app: FediApp, username: str) -> Actor:
    """The local actor ``username`` on ``app`` (fresh from the database)."""
    async with app.state.db.session() as db:
        found = await db.scalar(
            select(Actor).where(Actor.local.is_(True), Actor.username == username)
        )
    assert found is not None, username
    return found


async def follow_rows(app: FediApp) -> list[tuple[str, str, bool]]:
    """Every follow on ``app`` as (follower ap_id, followed ap_id, accepted)."""
    async with app.state.db.session() as db:
        rows = (await db.scalars(select(Follow))).all()
        out = []
        for row in rows:
            follower = await db.get(Actor, row.follower_id)
            followed = await db.get(Actor, row.followed_id)
            assert follower is not None and followed is not None
            out.append((follower.ap_id, followed.ap_id, row.accepted))
    return sorted(out)


async def inbox_ids(app: FediApp, username: str) -> list[str]:
    """Ids of the activities in the inbox of ``username`` on ``app``, oldest first."""
    person = await local(app, username)
    async with app.state.db.session() as db:
        rows = (
            await db.scalars(
                select(InboxEntry).where(InboxEntry.actor_id == person.id).order_by(InboxEntry.id)
            )
        ).all()
    return [r.activity_ap_id for r in rows]


async def inbox_payloads(app: FediApp, username: str) -> list[dict[str, Any]]:
    """The activities in the inbox of ``username`` on ``app``, oldest first."""
    person = await local(app, username)
    async with app.state.db.session() as db:
        rows = (
            await db.scalars(
                select(InboxEntry).where(InboxEntry.actor_id == person.id).order_by(InboxEntry.id)
            )
        ).all()
    return [r.payload for r in rows]


async def stored_object(app: FediApp, ap_id: str) -> ApObject | None:
    """The stored object ``ap_id`` on ``app``."""
    async with app.state.db.session() as db:
        return await db.scalar(select(ApObject).where(ApObject.ap_id == ap_id))


async def reaction_count(app: FediApp, ap_id: str, kind: str) -> int:
    """How many reactions of ``kind`` ``app`` has recorded for ``ap_id``."""
    async with app.state.db.session() as db:
        return int(
            await db.scalar(
                select(func.count(Reaction.id)).where(
                    Reaction.object_ap_id == ap_id, Reaction.kind == kind
                )
            )
            or 0
        )


async def post_outbox(
    app: FediApp, username: str, token: str | None, body: Any, *,
    content_type: str = "application/activity+json",
) -> Any:
    """POST ``body`` (a dict, or raw bytes) to ``username``'s outbox on ``app``."""
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    import orjson

    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return await app.test_client().post(f"/users/{username}/outbox", data=data, headers=headers)
