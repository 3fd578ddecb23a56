"""Replay every captured real-world payload through the inbox: applied, or refused with a reason.

The payloads (Mastodon, Lemmy, Mobilizon, PeerTube, Mbin, Friendica, Pleroma...) live in the
shared reference folder beside the repository (``../shared/reference-payloads``, or
``FEDI_REFERENCE_PAYLOADS``); its README forbids copying them into the project, so they are
read from there. Without the folder the tests skip, and fail under ``FEDI_TEST_REQUIRE_ALL=1``.

Every host the payloads name is served by one in-process fake (:class:`PayloadHosts`, the
routing transport's fallback, so nothing leaves the machine): the actors that send an
activity are served as their captured documents (or a minimal Person) carrying a test key,
and every object or activity of the corpus is served at its id, so references resolve the
way they would against the real servers. Each payload is POSTed, signed by its actor:

- an activity as captured;
- an object wrapped in the ``Create`` its author would send (an actor document in the
  ``Update`` of itself);
- a collection as captured (it is no activity: it must be refused at the door).

Each ends applied (the inbox item ``done`` and the row it should create exists), refused at
the door with a 4xx, or ``ignored`` with a recorded reason. None raises, none ends ``failed``
or waits for a retry. One test per server software, each on a fresh instance, replays its
payloads in order (objects first, then activities), so a Delete meets what a Create stored.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from harness import drain, make_app
from harness import test_keypair as shared_keypair
from routing import RoutingTransport
from sqlalchemy import select

from activitypub.http_signatures import sign_request
from activitypub.normalize import Malformed, types_of
from activitypub.vocab import ACTOR_TYPES, id_of
from fedi.domain.notes import NOTE_TYPES
from fedi.state import FediApp
from models import Actor, ApObject, InboxItem

REFERENCE = Path(
    os.environ.get(
        "FEDI_REFERENCE_PAYLOADS",
        Path(__file__).resolve().parents[3] / "shared" / "reference-payloads",
    )
)
PAYLOADS = sorted(p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*.json"))
SERVERS = sorted({rel.split("/", 1)[0] for rel in PAYLOADS})
REQUIRE_ALL = os.environ.get("FEDI_TEST_REQUIRE_ALL") == "1"
COLLECTION_TYPES = {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
ACTIVITY_TYPES = {
    "Accept", "Add", "Announce", "Block", "Create", "Delete", "Dislike", "Flag", "Follow",
    "Invite", "Join", "Leave", "Like", "Lock", "Move", "Offer", "Reject", "Remove", "Undo",
    "Update",
}


def _missing(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) when the payloads are not there."""
    if REQUIRE_ALL:
        pytest.fail(f"required reference payloads missing: {reason}", pytrace=False)
    pytest.skip(reason)


def _https_hosts() -> set[str]:
    """Hosts the corpus names with https anywhere."""
    hosts: set[str] = set()
    for rel in PAYLOADS:
        hosts.update(re.findall(r'https://([^/"#?\s]+)', (REFERENCE / rel).read_text("utf-8")))
    return hosts


HTTPS_HOSTS = _https_hosts() if PAYLOADS else set()


def _load(rel: str) -> dict[str, Any]:
    """One payload, with each host's scheme made consistent.

    Lemmy's assets come from its test instances and name one actor as both
    ``http://ds9.lemmy.ml/u/lemmy_alpha`` and ``https://ds9.lemmy.ml/u/lemmy_alpha``; no live
    server does, so every host seen with https is https throughout.
    """
    text = (REFERENCE / rel).read_text(encoding="utf-8")
    text = re.sub(
        r'http://([^/"#?\s]+)',
        lambda m: ("https://" if m.group(1) in HTTPS_HOSTS else "http://") + m.group(1),
        text,
    )
    doc = json.loads(text)
    assert isinstance(doc, dict), rel
    return doc


def _types(doc: Any) -> tuple[str, ...]:
    try:
        return types_of(doc.get("type")) if isinstance(doc, dict) else ()
    except Malformed:
        return ()


def _is_activity(doc: dict[str, Any]) -> bool:
    return bool(id_of(doc.get("actor"))) and bool(set(_types(doc)) & ACTIVITY_TYPES)


def _embedded(doc: Any) -> list[dict[str, Any]]:
    """``doc`` and every object embedded in it under ``object``, with an id."""
    out: list[dict[str, Any]] = []
    while isinstance(doc, dict):
        if isinstance(doc.get("id"), str):
            out.append(doc)
        doc = doc.get("object")
    return out


class PayloadHosts:
    """Every host of the corpus in one ASGI app: documents by exact URL, actors with test keys.

    Unknown URLs answer 404, as a real server would for a post it no longer has.
    """

    def __init__(self, public_pem: str) -> None:
        """Serve nothing yet; actors get ``public_pem`` as their key."""
        self.public_pem = public_pem
        self.docs: dict[str, dict[str, Any]] = {}
        self.actor_docs: dict[str, dict[str, Any]] = {}

    def add(self, doc: dict[str, Any]) -> None:
        """Serve ``doc`` and the objects embedded in it at their ids (the first one wins)."""
        for inner in _embedded(doc):
            if set(_types(inner)) & ACTOR_TYPES:
                self.add_actor(inner["id"], inner)
            else:
                self.docs.setdefault(_key(inner["id"]), inner)

    def add_actor(self, actor_id: str, captured: dict[str, Any] | None = None) -> None:
        """Serve ``actor_id`` (its captured document if there is one) with the test key."""
        key = _key(actor_id)
        if key in self.actor_docs and captured is None:
            return
        base = dict(captured or self.actor_docs.get(key) or {})
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Person",
            "preferredUsername": actor_id.rstrip("/").rsplit("/", 1)[-1].lstrip("@") or "actor",
            "inbox": actor_id.rstrip("/") + "/inbox",
            **base,
        }
        doc["id"] = actor_id
        doc["publicKey"] = {
            "id": actor_id + "#main-key", "owner": actor_id, "publicKeyPem": self.public_pem,
        }
        self.actor_docs[key] = doc

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """GET: the document at this URL, or 404; POST (deliveries): 202."""
        if scope["type"] != "http":
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        url = f"{scope.get('scheme', 'https')}://{host}{scope['path']}"
        if scope["method"] == "POST":
            status, body = 202, b""
        else:
            doc = self.actor_docs.get(_key(url)) or self.docs.get(_key(url))
            status, body = (200, orjson.dumps(doc)) if doc is not None else (404, b"{}")
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/activity+json")],
        })
        await send({"type": "http.response.body", "body": body})


def _key(url: str) -> str:
    """A URL without its fragment (``#main-key``) and query: how documents are looked up."""
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/")


def _as_delivery(rel: str, doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(signing actor, what to POST) for one payload file."""
    if _is_activity(doc):
        return str(id_of(doc.get("actor"))), doc
    kinds = set(_types(doc))
    ident = id_of(doc.get("id")) or f"https://replay.example/{rel}"
    if kinds & ACTOR_TYPES:
        return ident, {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{ident}#update-replay",
            "type": "Update", "actor": ident, "object": doc,
        }
    if kinds & COLLECTION_TYPES:
        host = ident.split("/", 3)[:3]
        return "/".join(host) + "/replay-actor", doc
    authors = [id_of(a) for a in (doc.get("attributedTo"), doc.get("actor"))]
    author = next(
        (a for a in (*_flatten(doc.get("attributedTo")), *authors) if a), "/".join(
            ident.split("/", 3)[:3]
        ) + "/replay-actor",
    )
    return author, {
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{ident}#create-replay",
        "type": "Create", "actor": author, "object": doc,
        "to": doc.get("to", []), "cc": doc.get("cc", []),
    }


def _flatten(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [i for i in (id_of(v) for v in values) if i]


@pytest.fixture
async def replay_app(
    tmp_path: Path, db_target: Any
) -> AsyncIterator[tuple[FediApp, PayloadHosts]]:
    """A fresh instance (SQLite, PostgreSQL) whose every request lands in :class:`PayloadHosts`."""
    hosts = PayloadHosts(shared_keypair()[1])
    router = RoutingTransport(fallback=httpx.ASGITransport(app=hosts))
    app = await make_app(
        tmp_path, 8001, router, database_url=db_target.url, database_schema=db_target.schema
    )
    async with app.test_app():
        yield app, hosts
    await router.close()


async def _post(app: FediApp, signer: str, activity: dict[str, Any]) -> int:
    body = orjson.dumps(activity)
    url = f"{app.state.settings.base_url}/inbox"
    headers = {"Content-Type": "application/activity+json"}
    key_id = signer + "#main-key"
    headers.update(sign_request("POST", url, headers, body, key_id, shared_keypair()[0]))
    response = await app.test_client().post("/inbox", data=body, headers=headers)
    return response.status_code


async def _outcome(app: FediApp, rel: str, activity: dict[str, Any], status: int) -> str | None:
    """What went wrong with one replayed payload, or None when it is accounted for."""
    if 400 <= status < 500:
        return None  # refused at the door
    if status != 202:
        return f"{rel}: answered {status}"
    ident = id_of(activity.get("id"))
    async with app.state.db.session() as db:
        item = await db.scalar(select(InboxItem).where(InboxItem.ap_id == ident))
        if item is None:
            return f"{rel}: 202 but no inbox item {ident}"
        if item.state == "ignored":
            return None if item.error else f"{rel}: ignored without a reason"
        if item.state != "done":
            return f"{rel}: ended {item.state} ({item.error})"
        kinds = set(_types(activity))
        obj = activity.get("object")
        object_kinds = set(_types(obj))
        if kinds & {"Create", "Update"} and object_kinds & NOTE_TYPES:
            found = await db.scalar(select(ApObject.id).where(ApObject.ap_id == id_of(obj)))
            if found is None and not await _stored_elsewhere(db, str(id_of(obj))):
                return f"{rel}: done but {id_of(obj)} was not stored"
        if "Update" in kinds and object_kinds & ACTOR_TYPES:
            actor = await db.scalar(select(Actor.id).where(Actor.ap_id == id_of(obj)))
            if actor is None:
                return f"{rel}: done but the actor {id_of(obj)} is not stored"
    return None


async def _stored_elsewhere(db: Any, ap_id: str) -> bool:
    """Whether the initiatives side took the object (an initiative Page, comment...)."""
    from models import Comment, Initiative, InitiativeUpdate

    for model in (Initiative, Comment, InitiativeUpdate):
        if await db.scalar(select(model.id).where(model.ap_id == ap_id)) is not None:
            return True
    return False


def test_the_corpus_is_there() -> None:
    if not PAYLOADS:
        _missing(f"reference payloads not found in {REFERENCE}")
    assert len(PAYLOADS) >= 120 and len(SERVERS) >= 14


@pytest.mark.parametrize("server", SERVERS or [None])
async def test_replay_server_payloads(
    replay_app: tuple[FediApp, PayloadHosts], server: str | None
) -> None:
    if server is None:
        _missing(f"reference payloads not found in {REFERENCE}")
    app, hosts = replay_app
    for rel in PAYLOADS:
        hosts.add(_load(rel))  # every document of the corpus, so references resolve
    mine = [rel for rel in PAYLOADS if rel.startswith(f"{server}/")]
    # Objects and actors first (as their Create/Update), then activities, each sorted.
    mine.sort(key=lambda rel: (_is_activity(_load(rel)), rel))
    problems: list[str] = []
    outcomes: dict[str, int] = {}
    for rel in mine:
        signer, activity = _as_delivery(rel, _load(rel))
        hosts.add_actor(signer)
        status = await _post(app, signer, activity)
        await drain(app)
        problem = await _outcome(app, rel, activity, status)
        if problem:
            problems.append(problem)
        outcomes[rel] = status
    async with app.state.db.session() as db:
        for item in await db.scalars(select(InboxItem)):
            unexplained = item.state == "ignored" and not item.error
            if item.state not in ("done", "ignored") or unexplained:
                problems.append(f"{item.ap_id}: {item.state} {item.error}")
    assert not problems, "\n".join(problems)
    assert outcomes, f"no payloads for {server}"
