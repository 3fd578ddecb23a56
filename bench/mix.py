"""The realistic inbox mix: its seeding, its signed requests and its remote servers.

A mix is what a busy instance receives: notes from actors it knows and from actors it has
never seen (their key must be fetched from their server before the signature can be
checked), replies whose parent must be fetched, ``Create{Note}`` mentioning a local tribe
from people who are not members (to Public, cc the tribe), likes of local notes and follows
of local people. The remote servers are ``bench.remotes`` (loopback, one process); one of
them may stall (answer after 2 s), which the ``inbox_default`` scenario measures.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import seed
from bench.instance import wait_for_port
from fedi.settings import Settings
from models import Actor, ApObject, TribeMember, utcnow

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = seed.PUBLIC
# Shares of the mix by kind (the rest of each 100 are plain notes).
SHARES = {"reply": 15, "tribe_mention": 15, "like": 20, "follow": 10}


@dataclass
class RemoteServers:
    """A running ``bench.remotes`` process: its fast ports, its slow ports, its control."""

    process: subprocess.Popen[bytes]
    ports: list[int]
    slow: list[int]
    control: int
    keys_file: str
    public_pems: list[str] = field(default_factory=list)

    @property
    def fast(self) -> list[int]:
        """The ports that answer at once."""
        return [p for p in self.ports if p not in self.slow]

    def stats(self) -> dict[str, Any]:
        """How many GETs and POSTs the fast and the slow servers answered."""
        import httpx

        answer: dict[str, Any] = httpx.get(
            f"http://127.0.0.1:{self.control}/stats", timeout=10
        ).json()
        return answer

    def stop(self) -> float | None:
        """Stop the process; return its peak RSS in MB."""
        from bench.instance import peak_rss_mb

        peak = peak_rss_mb(self.process.pid)
        self.process.terminate()
        self.process.wait()
        Path(self.keys_file).unlink(missing_ok=True)
        return peak


def start_remotes(
    pairs: list[tuple[str, str]], count: int, slow: int = 0, delay: float = 2.0
) -> RemoteServers:
    """Start ``count`` loopback remote servers (the last ``slow`` of them stall ``delay`` s)."""
    handle = tempfile.NamedTemporaryFile(prefix="bench-keys-", suffix=".json", delete=False)
    handle.write(orjson.dumps([public for _, public in pairs]))
    handle.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.remotes", "--count", str(count), "--slow", str(slow),
         "--delay", str(delay), "--keys", handle.name],
        stdout=subprocess.PIPE, cwd=str(ROOT),
    )
    assert process.stdout is not None
    announced = orjson.loads(process.stdout.readline())
    wait_for_port(announced["control"])
    return RemoteServers(process, announced["ports"], announced["slow"], announced["control"],
                         handle.name, [public for _, public in pairs])


@dataclass
class Sender:
    """A remote actor the benchmark signs as (its key is ``pairs[key]``)."""

    ap_id: str
    key: int

    @property
    def key_id(self) -> str:
        """The actor's key id (``#main-key``, as ``bench.remotes`` serves it)."""
        return f"{self.ap_id}#main-key"

    @property
    def followers(self) -> str:
        """The actor's followers collection."""
        return f"{self.ap_id}/followers"


def sender(port: int, name: str, key: int) -> Sender:
    """The actor ``name`` on the remote server at ``port``, whose document uses key ``key``."""
    return Sender(f"http://127.0.0.1:{port}/users/{name}-k{key}", key)


@dataclass
class MixWorld:
    """What the seeding made: who is known, what can be liked, followed and mentioned."""

    known: list[Sender]
    unknown: list[Sender]
    tribe_ap_id: str
    tribe_handle: str
    people: list[str]
    notes: list[str]
    reader: str
    token: str
    extra: dict[str, Any] = field(default_factory=dict)


async def seed_world(
    settings: Settings, remotes: RemoteServers, *, known: int, unknown: int,
    people: int = 50, notes: int = 200, tribe_followers: int = 4,
) -> MixWorld:
    """Seed the instance the mix is sent to (the database is created here).

    * a local person ``reader`` with an account and a C2S bearer token (as
      ``fedi token create reader`` makes), following every known remote actor;
    * ``people`` local people (with keys) whom remote actors follow, and ``notes`` public
      local notes they like;
    * an open tribe ``buurt`` (owned by the reader) whose ``Group`` has ``tribe_followers``
      remote followers on the fast servers, so a mention that the tribe takes is announced;
    * ``known`` remote actors stored as fetched just now (steady state); ``unknown`` more are
      only on their servers.
    """
    os.environ.setdefault("FEDI_TEST_CHEAP_HASHES", "1")  # a few accounts; no need for Argon2
    from fedi.domain.accounts import create_user
    from fedi.domain.tokens import create_token
    from fedi.domain.tribes import create_tribe

    pairs_public = remotes.public_pems
    db = seed.database(settings)
    await db.upgrade()
    async with db.session() as session:
        user = await create_user(
            session, settings, username="reader", email="reader@bench.invalid",
            password="bench-" + uuid.uuid4().hex,
        )
        tribe = await create_tribe(
            session, settings, user.actor, slug="buurt", name="Buurt",
            description="De buurt praat mee.",
        )
        group = await session.get(Actor, tribe.actor_id)
        assert group is not None
        tribe_id, group_id, tribe_ap_id = tribe.id, group.id, group.ap_id
        reader_id, reader_ap_id = user.actor_id, user.actor.ap_id
    async with db.session() as session:
        token = await create_token(session, "reader", "bench")
    fast = remotes.fast
    known_senders = [sender(fast[i % len(fast)], f"a{i}", i % seed.KEYPAIRS)
                     for i in range(known)]
    unknown_senders = [sender(fast[i % len(fast)], f"n{i}", i % seed.KEYPAIRS)
                       for i in range(known, known + unknown)]
    rows = []
    for who in known_senders:
        host = who.ap_id.split("/")[2]
        row = seed.remote_actor_row(host, who.ap_id.rsplit("/", 1)[1],
                                    ("", pairs_public[who.key]),
                                    shared_inbox=f"http://{host}/inbox", scheme="http")
        rows.append(row)
    followers = []
    for index in range(tribe_followers):
        host = f"127.0.0.1:{fast[index % len(fast)]}"
        followers.append(seed.remote_actor_row(
            host, f"tf{index}-k0", ("", pairs_public[0]), shared_inbox=f"http://{host}/inbox",
            scheme="http",
        ))
    local_keys = seed.keypairs(1)[0]
    locals_ = [seed.local_actor_row(settings, f"p{index}", local_keys) for index in range(people)]
    await seed.bulk_insert(db, Actor, rows + followers + locals_)
    ids = await seed.ids_by_ap_id(db, [r["ap_id"] for r in rows + followers + locals_])
    await seed.follow_rows(db, [reader_id] * len(rows), [ids[r["ap_id"]] for r in rows])
    follower_ids = [ids[r["ap_id"]] for r in followers]
    await seed.follow_rows(db, follower_ids, [group_id] * len(follower_ids))
    now = utcnow()
    await seed.bulk_insert(db, TribeMember, [
        {"tribe_id": tribe_id, "actor_id": actor_id, "role": "member", "state": "active",
         "joined_at": now, "message": "",
         "activity_ap_id": f"https://bench.invalid/joins/{uuid.uuid4().hex}"}
        for actor_id in follower_ids
    ])
    note_ids = [settings.url(f"/users/reader/statuses/bench-{n}") for n in range(notes)]
    await seed.bulk_insert(db, ApObject, [
        {"ap_id": ap_id, "type": "Note", "local": True, "attributed_to_id": reader_id,
         "content_html": "<p>Wie helpt zaterdag mee met planten?</p>", "visibility": "public",
         "url": ap_id, "published": now,
         "payload": {"id": ap_id, "type": "Note", "attributedTo": reader_ap_id,
                     "content": "<p>Wie helpt zaterdag mee met planten?</p>", "to": [PUBLIC]}}
        for ap_id in note_ids
    ])
    await db.dispose()
    return MixWorld(
        known=known_senders, unknown=unknown_senders, tribe_ap_id=tribe_ap_id,
        tribe_handle=f"@buurt@{settings.host}",
        people=[r["ap_id"] for r in locals_] + [reader_ap_id], notes=note_ids,
        reader=reader_ap_id, token=token,
    )


def _note(who: Sender, serial: str, *, cc: list[str], in_reply_to: str | None = None,
          tags: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    note_id = f"{who.ap_id}/statuses/{serial}"
    published = "2026-01-01T12:00:00Z"
    obj: dict[str, Any] = {
        "id": note_id, "type": "Note", "attributedTo": who.ap_id,
        "content": f"<p>Bericht {serial}: de buurt plant bomen. #groen</p>",
        "published": published, "to": [PUBLIC], "cc": cc, "url": note_id,
        "sensitive": False, "tag": tags or [],
    }
    if in_reply_to:
        obj["inReplyTo"] = in_reply_to
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": f"{note_id}/activity", "type": "Create", "actor": who.ap_id,
        "published": published, "to": [PUBLIC], "cc": cc, "object": obj,
    }


def activity(kind: str, who: Sender, serial: str, world: MixWorld, rng: random.Random,
             parent: str | None = None) -> dict[str, Any]:
    """One activity of ``kind`` by ``who`` (``parent``: the note a reply answers)."""
    if kind == "reply":
        return _note(who, serial, cc=[who.followers], in_reply_to=parent)
    if kind == "tribe_mention":
        return _note(who, serial, cc=[who.followers, world.tribe_ap_id], tags=[
            {"type": "Mention", "href": world.tribe_ap_id, "name": world.tribe_handle},
        ])
    if kind == "like":
        return {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{who.ap_id}/likes/{serial}", "type": "Like", "actor": who.ap_id,
                "object": rng.choice(world.notes)}
    if kind == "follow":
        return {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{who.ap_id}/follows/{serial}", "type": "Follow", "actor": who.ap_id,
                "object": rng.choice(world.people)}
    return _note(who, serial, cc=[who.followers])


def build_mix(
    world: MixWorld, fast_ports: list[int], count: int, *, seed_value: int, tag: str,
    senders: list[Sender] | None = None, slow_parents: tuple[int, float] | None = None,
    parents_per_reply: float = 0.3,
) -> tuple[list[tuple[str, str, bytes]], dict[str, int]]:
    """``count`` activities of the mix as (key id, private key index as text, body).

    ``senders`` defaults to the known and the unknown actors. Replies answer parents on the
    fast servers (a pool of ``parents_per_reply`` parents per reply, each fetched once);
    ``slow_parents`` = (slow port, share): that share of all activities are replies to a
    parent (each a different one) on the stalling server.
    """
    rng = random.Random(seed_value)
    pool = senders if senders is not None else world.known + world.unknown
    kinds = [k for k, n in SHARES.items() for _ in range(n)]
    kinds += ["note"] * (100 - len(kinds))
    parent_count = max(1, int(count * SHARES["reply"] / 100 * parents_per_reply))
    out: list[tuple[str, str, bytes]] = []
    counts: dict[str, int] = {}
    for index in range(count):
        who = rng.choice(pool)
        serial = f"{tag}-{index}-{uuid.uuid4().hex[:10]}"
        kind = rng.choice(kinds)
        parent = None
        if slow_parents and rng.random() < slow_parents[1]:
            kind = "slow_reply"
            parent = f"http://127.0.0.1:{slow_parents[0]}/notes/sp{index}-k0/{tag}{index}"
        elif kind == "reply":
            number = rng.randrange(parent_count)
            port = fast_ports[number % len(fast_ports)]
            parent = f"http://127.0.0.1:{port}/notes/pa{number}-k0/{tag}{number}"
        body = activity("reply" if kind == "slow_reply" else kind, who, serial, world, rng,
                        parent)
        counts[kind] = counts.get(kind, 0) + 1
        out.append((who.key_id, str(who.key), orjson.dumps(body)))
    return out, counts


def slow_senders(slow_port: int, count: int, tag: str) -> list[Sender]:
    """``count`` never-seen actors on the stalling server (each key fetch waits there)."""
    return [sender(slow_port, f"s{tag}{i}", i % seed.KEYPAIRS) for i in range(count)]
