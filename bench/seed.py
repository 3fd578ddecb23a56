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


async def seed_tribe_followers(
    settings: Settings, *, followers: int, sink_ports: list[int]
) -> dict[str, Any]:
    """A local tribe with ``followers`` remote members spread over the sink ports.

    Each follower is a remote person on ``127.0.0.1:<port>`` whose server has a shared inbox,
    an active member of the tribe and an accepted follower of its ``Group`` actor, as after
    a ``Follow`` came in. The tribe's owner (``fanout``) starts the initiative through the web
    form. Returns the tribe's slug and the owner's username and (random) password.
    """
    import os

    os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")  # one account; no need for Argon2
    from fedi.domain.accounts import create_user
    from fedi.domain.tribes import create_tribe
    from models import TribeMember

    password = "bench-" + uuid.uuid4().hex
    db = database(settings)
    await db.upgrade()
    async with db.session() as session:
        user = await create_user(
            session, settings, username="fanout", email="fanout@bench.invalid",
            password=password,
        )
        tribe = await create_tribe(
            session, settings, user.actor, slug="wijkraad", name="Wijkraad",
            description="De wijk beslist mee.",
        )
        tribe_id, group_id = tribe.id, tribe.actor_id
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
    member_ids = [ids[r["ap_id"]] for r in rows]
    await follow_rows(db, member_ids, [group_id] * len(member_ids))
    now = utcnow()
    await bulk_insert(
        db, TribeMember,
        [
            {"tribe_id": tribe_id, "actor_id": actor_id, "role": "member", "state": "active",
             "joined_at": now, "message": "",
             "activity_ap_id": f"https://bench.invalid/joins/{uuid.uuid4().hex}"}
            for actor_id in member_ids
        ],
    )
    await db.dispose()
    return {"slug": "wijkraad", "owner": "fanout", "password": password}


async def seed_tribe(
    settings: Settings, *, members: int, initiatives: int = 0, comments: int = 0
) -> dict[str, Any]:
    """A tribe with ``members`` active members and ``initiatives`` initiatives, one of which
    (the first, through the services) has ``comments`` comments and a few hundred supporters.

    Returns the tribe's slug, the owner's username, the discussed initiative's id and a
    login-session token of the owner (for the pages a member sees).
    """
    import os
    from datetime import timedelta

    os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")
    from fedi.domain.accounts import create_user
    from fedi.domain.initiatives import create_initiative
    from fedi.domain.tribes import create_tribe
    from fedi.http.web.session import SESSION_LIFETIME, hash_token
    from models import (
        Comment,
        Initiative,
        InitiativeSupporter,
        InitiativeUpdate,
        LoginSession,
        TribeMember,
    )

    db = database(settings)
    await db.upgrade()
    token = uuid.uuid4().hex
    discussed: int | None = None
    async with db.session() as session:
        user = await create_user(
            session, settings, username="owner", email="owner@bench.invalid",
            password="bench-" + uuid.uuid4().hex,
        )
        tribe = await create_tribe(
            session, settings, user.actor, slug="groenstad", name="Groenstad",
            description="Een groene stad, samen gemaakt.",
        )
        tribe_id, owner_id = tribe.id, user.actor_id
        session.add(LoginSession(
            user_id=user.id, token_hash=hash_token(token), csrf_token=uuid.uuid4().hex,
            expires_at=utcnow() + SESSION_LIFETIME, user_agent="bench",
        ))
        if initiatives:
            initiative = await create_initiative(
                session, settings, tribe, user.actor, name="Bomen langs de gracht",
                summary="Honderd nieuwe bomen, door de buurt geplant.",
                description="We planten **bomen** langs de hele gracht.", phase="execute",
            )
            discussed = initiative.id
    rows = [local_actor_row(settings, f"m{index}", None) for index in range(members)]
    await bulk_insert(db, Actor, rows)
    ids = await ids_by_ap_id(db, [r["ap_id"] for r in rows])
    member_ids = [ids[r["ap_id"]] for r in rows]
    now = utcnow()
    await bulk_insert(
        db, TribeMember,
        [
            {"tribe_id": tribe_id, "actor_id": actor_id, "role": "member",
             "state": "active", "joined_at": now, "message": ""}
            for actor_id in member_ids
        ],
    )
    if discussed is not None:
        # The other initiatives, older than the discussed one; one in ten for members only.
        first = discussed + 1
        numbers = range(first, first + initiatives - 1)
        await bulk_insert(db, Initiative, [
            {"id": number, "tribe_id": tribe_id, "creator_id": owner_id,
             "name": f"Initiatief {number}", "summary": f"Samen aan de slag, nummer {number}.",
             "description_html": "<p>Een plan van de buurt.</p>", "tags": [],
             "visibility": "members" if number % 10 == 0 else "public", "local": True,
             "ap_id": settings.url(f"/initiatives/{number}"),
             "created_at": now - timedelta(minutes=number)}
            for number in numbers
        ])
        await bulk_insert(db, InitiativeUpdate, [
            {"initiative_id": number, "kind": "created", "actor_id": owner_id, "payload": {},
             "created_at": now - timedelta(minutes=number)}
            for number in numbers
        ])
        await _seed_conversation(
            db, settings, discussed, owner_id, member_ids, comments, Comment,
            InitiativeUpdate, InitiativeSupporter,
        )
    await db.dispose()
    return {"slug": "groenstad", "owner": "owner", "initiative": discussed,
            "session_token": token}


async def _seed_conversation(
    db: Database, settings: Settings, initiative_id: int, owner_id: int, member_ids: list[int],
    comments: int, comment_model: Any, update_model: Any, supporter_model: Any,
) -> None:
    """``comments`` comments on one initiative: a fifth under 20 messages of its timeline,
    the rest on the initiative itself, by members in turn; 300 members support it."""
    from datetime import timedelta

    start = utcnow() - timedelta(days=30)
    base = settings.url(f"/initiatives/{initiative_id}")
    messages = 20 if comments >= 100 else 0
    async with db.session() as session:
        for number in range(messages):
            entry = update_model(
                initiative_id=initiative_id, kind="message", actor_id=owner_id, payload={},
                content_source=f"Update {number}: we zijn weer verder.",
                content_html=f"<p>Update {number}: we zijn weer verder.</p>",
                created_at=start + timedelta(days=number),
            )
            session.add(entry)
            await session.flush()
            entry.ap_id = f"{base}/updates/{entry.id}"
        await session.flush()
        update_ids = list((await session.scalars(
            select(update_model.id).where(
                update_model.initiative_id == initiative_id, update_model.kind == "message"
            )
        )).all())
    under_updates = comments // 5 if update_ids else 0
    rows = []
    for number in range(comments):
        author = member_ids[number % len(member_ids)] if member_ids else owner_id
        update_id = update_ids[number % len(update_ids)] if number < under_updates else None
        text = f"Reactie {number}: goed plan, ik help mee met de bomen."
        rows.append({
            "initiative_id": initiative_id, "update_id": update_id, "author_id": author,
            "content_source": text, "content_html": f"<p>{text}</p>",
            "ap_id": f"{base}/comments/bench-{number}",
            "created_at": start + timedelta(minutes=number * 7),
        })
    await bulk_insert(db, comment_model, rows)
    await bulk_insert(db, supporter_model, [
        {"initiative_id": initiative_id, "actor_id": actor_id, "since": start}
        for actor_id in member_ids[:300]
    ])


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
