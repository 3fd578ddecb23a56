"""Seeding benchmark databases directly through the models (bulk inserts, shared key pairs).

Generating an RSA key takes ~50 ms, so the thousands of remote actors share a handful of key
pairs; each still has its own key id, so the inbox resolves and caches every key separately.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from activitypub.keys import generate_rsa_keypair
from fedi.db import Database
from fedi.settings import Settings
from models import Actor, Follow, utcnow

KEYPAIRS = 4
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class RemoteActor:
    """What the request builder needs to sign as a seeded remote actor."""

    ap_id: str
    key_id: str
    private_pem: str
    followers_url: str


def database(settings: Settings) -> Database:
    """The instance's database, as the processes will open it."""
    return Database(settings.database_url, schema=settings.database_schema)


def local_actor_row(settings: Settings, username: str, keys: tuple[str, str] | None) -> dict:
    """Column values of a local ``Person`` actor (no login account)."""
    actor_id = settings.url(f"/users/{username}")
    return {
        "ap_id": actor_id, "type": "Person", "local": True, "username": username,
        "domain": settings.host, "url": settings.url(f"/@{username}"),
        "inbox": f"{actor_id}/inbox", "outbox": f"{actor_id}/outbox",
        "followers_url": f"{actor_id}/followers", "following_url": f"{actor_id}/following",
        "shared_inbox": settings.url("/inbox"),
        "key_id": f"{actor_id}#main-key" if keys else None,
        "public_key_pem": keys[1] if keys else None,
        "private_key_pem": keys[0] if keys else None,
        "display_name": f"Member {username}", "languages": [], "links": [],
    }


def remote_actor_row(
    host: str, name: str, keys: tuple[str, str], *, shared_inbox: str | None, scheme: str
) -> dict:
    """Column values of a remote ``Person`` actor fetched just now (so never refetched)."""
    actor_id = f"{scheme}://{host}/users/{name}"
    return {
        "ap_id": actor_id, "type": "Person", "local": False, "username": name,
        "domain": host, "inbox": f"{actor_id}/inbox", "shared_inbox": shared_inbox,
        "outbox": f"{actor_id}/outbox", "followers_url": f"{actor_id}/followers",
        "following_url": f"{actor_id}/following", "key_id": f"{actor_id}#main-key",
        "public_key_pem": keys[1], "languages": [], "links": [], "fetched_at": utcnow(),
        "url": f"{scheme}://{host}/@{name}",
    }


async def bulk_insert(db: Database, model: Any, rows: list[dict], chunk: int = 2000) -> None:
    """Insert ``rows`` in chunks, one transaction each."""
    for start in range(0, len(rows), chunk):
        async with db.session() as session:
            await session.execute(insert(model), rows[start : start + chunk])


async def ids_by_ap_id(db: Database, ap_ids: list[str]) -> dict[str, int]:
    """Actor ids for ``ap_ids``."""
    found: dict[str, int] = {}
    async with db.session() as session:
        for start in range(0, len(ap_ids), 5000):
            part = ap_ids[start : start + 5000]
            for ap_id, actor_id in await session.execute(
                select(Actor.ap_id, Actor.id).where(Actor.ap_id.in_(part))
            ):
                found[ap_id] = actor_id
    return found


async def follow_rows(db: Database, followers: list[int], followed: list[int]) -> None:
    """Accepted follows: ``followers[i]`` follows ``followed[i]``."""
    rows = [
        {
            "follower_id": a, "followed_id": b, "accepted": True,
            "activity_ap_id": f"https://bench.invalid/follows/{uuid.uuid4().hex}",
        }
        for a, b in zip(followers, followed, strict=True)
    ]
    await bulk_insert(db, Follow, rows)


def keypairs(count: int = KEYPAIRS) -> list[tuple[str, str]]:
    """``count`` fresh RSA-2048 key pairs (private PEM, public PEM)."""
    return [generate_rsa_keypair() for _ in range(count)]


async def seed_inbox(
    settings: Settings, *, actors: int, domains: int
) -> list[RemoteActor]:
    """Remote actors on ``domains`` hosts, all followed by one local reader.

    The reader's follows make every public ``Create`` land in a local inbox too, so the
    worker does the full job (store the note, link it to the reader's inbox).
    """
    db = database(settings)
    await db.upgrade()
    pairs = keypairs()
    rows = []
    out: list[RemoteActor] = []
    for index in range(actors):
        host = f"r{index % domains}.bench.example"
        name = f"a{index}"
        keys = pairs[index % len(pairs)]
        row = remote_actor_row(host, name, keys, shared_inbox=f"https://{host}/inbox",
                               scheme="https")
        rows.append(row)
        out.append(RemoteActor(row["ap_id"], row["key_id"], keys[0], row["followers_url"]))
    reader = local_actor_row(settings, "reader", pairs[0])
    await bulk_insert(db, Actor, [reader, *rows])
    ids = await ids_by_ap_id(db, [reader["ap_id"], *(r["ap_id"] for r in rows)])
    reader_id = ids[reader["ap_id"]]
    await follow_rows(db, [reader_id] * len(rows), [ids[r["ap_id"]] for r in rows])
    await db.dispose()
    return out


async def seed_publisher(
    settings: Settings, *, followers: int, sink_ports: list[int]
) -> str:
    """A local person with ``followers`` remote followers spread over the sink ports.

    Returns a bearer token of the person (``publisher``) for the C2S outbox.
    """
    import os

    os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")  # one account; no need for Argon2
    from fedi.services.accounts import create_user
    from fedi.services.tokens import create_token

    db = database(settings)
    await db.upgrade()
    async with db.session() as session:
        user = await create_user(
            session, settings, username="publisher", email="publisher@bench.invalid",
            password="bench-" + uuid.uuid4().hex,
        )
        publisher_id = user.actor_id
        token = await create_token(session, "publisher", "bench")
    pairs = keypairs(1)
    rows = []
    for index in range(followers):
        port = sink_ports[index % len(sink_ports)]
        host = f"127.0.0.1:{port}"
        rows.append(
            remote_actor_row(host, f"f{index}", pairs[0], shared_inbox=f"http://{host}/inbox",
                             scheme="http")
        )
    await bulk_insert(db, Actor, rows)
    ids = await ids_by_ap_id(db, [r["ap_id"] for r in rows])
    await follow_rows(db, [ids[r["ap_id"]] for r in rows], [publisher_id] * len(rows))
    await db.dispose()
    return token


async def seed_tribe(settings: Settings, *, members: int) -> dict[str, Any]:
    """A tribe with ``members`` active members; returns slug and the owner's username."""
    import os

    os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")
    from fedi.services.accounts import create_user
    from fedi.services.tribes import create_tribe
    from models import TribeMember

    db = database(settings)
    await db.upgrade()
    async with db.session() as session:
        user = await create_user(
            session, settings, username="owner", email="owner@bench.invalid",
            password="bench-" + uuid.uuid4().hex,
        )
        tribe = await create_tribe(
            session, settings, user.actor, slug="groenstad", name="Groenstad",
            description="Een groene stad, samen gemaakt.",
        )
        tribe_id = tribe.id
    rows = [local_actor_row(settings, f"m{index}", None) for index in range(members)]
    await bulk_insert(db, Actor, rows)
    ids = await ids_by_ap_id(db, [r["ap_id"] for r in rows])
    now = utcnow()
    await bulk_insert(
        db, TribeMember,
        [
            {"tribe_id": tribe_id, "actor_id": ids[r["ap_id"]], "role": "member",
             "state": "active", "joined_at": now, "message": ""}
            for r in rows
        ],
    )
    await db.dispose()
    return {"slug": "groenstad", "owner": "owner"}


def create_note_activity(actor: RemoteActor, index: int) -> dict[str, Any]:
    """A Mastodon-shaped public ``Create{Note}`` by ``actor``."""
    base = actor.ap_id
    note_id = f"{base}/statuses/{index}-{uuid.uuid4().hex[:12]}"
    published = "2026-01-01T12:00:00Z"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": base,
        "published": published,
        "to": [PUBLIC],
        "cc": [actor.followers_url],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": base,
            "content": f"<p>Benchmark note {index}: de buurt plant bomen. #groen</p>",
            "published": published,
            "to": [PUBLIC],
            "cc": [actor.followers_url],
            "url": note_id,
            "sensitive": False,
            "tag": [],
        },
    }
