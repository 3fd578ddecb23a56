"""Odd but valid shapes of posts, sent to a person and to a tribe: none accepted and then lost.

Every shape goes through the real door (a signed POST to the inbox) and the inbox worker,
from a Mastodon-shaped fake server on the routing transport (``localhost:9001``). Each is
then, per shape:

- *shown*: stored, and its text (or image, or event time) is on the page where it belongs:
  the home timeline of Alice (who follows the sender) or the tribe's page;
- *ignored*: the inbox item ends ``ignored`` with its reason, and nothing of it is shown;
- *refused*: the door answers 4xx (activities that can never be used, at the end).

No item may end ``failed`` or wait for a retry. Also here: a message that reaches a person
only through ``bto``/``bcc`` is a private message to them alone, and actors carry
``indexable``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from harness import add_follow, drain, make_app
from routing import RoutingTransport
from sqlalchemy import select
from tribe_fed_helpers import AP_HEADERS, AS, PUBLIC, deliver, remote
from tribe_helpers import login, make_person, make_tribe

from fedi.federation.remote.actors import get_or_fetch_actor
from fedi.state import FediApp
from models import Actor, ApObject, InboxEntry, InboxItem, Notification, TribePost

A = "http://localhost:8001"
ALICE = f"{A}/users/alice"
BOB = f"{A}/users/bob"
PLEIN = f"{A}/tribes/plein"
MEDIA = "http://localhost:9001/media"
_numbers = itertools.count(1)


@dataclass
class World:
    """One instance (Alice, Bob, tribe Plein) and Fiona on a fake Mastodon server."""

    app: FediApp
    server: Any
    fiona: Any


@asynccontextmanager
async def _world(tmp_path: Path, **changes: Any) -> AsyncIterator[World]:
    """Alice and Bob follow Fiona; Fiona is a member of Alice's open tribe Plein."""
    router = RoutingTransport()
    app = await make_app(tmp_path, 8001, router, **changes)
    async with app.test_app():
        server, fiona = remote(router, "localhost:9001", "fiona")
        await make_person(app, "alice")
        await make_person(app, "bob")
        await make_tribe(app, "plein", "alice")
        follow = fiona.activity("Follow", PLEIN)
        assert await deliver(app, fiona, follow, "/tribes/plein/inbox") == 202
        await drain(app)
        async with app.state.db.session() as db:
            remote_fiona = await get_or_fetch_actor(app.state, db, fiona.id)
            for name in ("alice", "bob"):
                person = await db.scalar(select(Actor).where(Actor.ap_id == f"{A}/users/{name}"))
                assert person is not None
                await add_follow(db, person, remote_fiona)
        yield World(app, server, fiona)
    await router.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The world on SQLite (the per-shape tests: many, and the engine plays no part)."""
    async with _world(tmp_path) as made:
        yield made


@pytest.fixture
async def world_on_both(tmp_path: Path, db_target: Any) -> AsyncIterator[World]:
    """The world on SQLite and on PostgreSQL (the corpus in one inbox, bto/bcc)."""
    async with _world(
        tmp_path, database_url=db_target.url, database_schema=db_target.schema
    ) as made:
        yield made


# ------------------------------------------------------------------ the shapes


@dataclass
class Shape:
    """One odd shape: the object to send and what must become of it."""

    name: str
    build: Callable[[Any, str], dict[str, Any]]  # (fiona, token) -> object document
    expect: str = "shown"  # shown | ignored
    needles: Callable[[str], list[str]] = field(default=lambda token: [token])
    to_tribe: bool = True
    referenced: bool = False  # send the object as a bare id, served by Fiona's server


def _note(fiona: Any, token: str, **fields: Any) -> dict[str, Any]:
    number = next(_numbers)
    doc: dict[str, Any] = {
        "id": fiona.server.url(f"/users/fiona/statuses/{number}"),
        "type": "Note",
        "attributedTo": fiona.id,
        "to": [PUBLIC],
        "cc": [fiona.id + "/followers"],
        "content": f"<p>{token}</p>",
        "published": "2024-05-01T10:00:00Z",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def _image(alt: str, name: str = "bike.png", **extra: Any) -> dict[str, Any]:
    return {"type": "Document", "mediaType": "image/png", "url": f"{MEDIA}/{name}",
            "name": alt, **extra}


SHAPES = [
    Shape("plain note", lambda f, t: _note(f, t)),
    Shape("type array", lambda f, t: _note(f, t, type=["Note", "Article"])),
    Shape("unknown type first in array", lambda f, t: _note(f, t, type=["ex:Toot", "Note"])),
    Shape("full type IRI", lambda f, t: _note(f, t, type=AS + "#Note")),
    Shape("prefixed type", lambda f, t: _note(f, t, type="as:Note")),
    Shape("article with title", lambda f, t: _note(f, t, type="Article", name="Title " + t)),
    Shape("page without initiative", lambda f, t: _note(
        f, t, type="Page", name="Page " + t, content=None,
        attachment=[{"type": "Link", "href": "https://example.org/story"}],
    ), needles=lambda t: ["Page " + t, "https://example.org/story"]),
    Shape("content only in contentMap", lambda f, t: _note(
        f, t, content=None, contentMap={"nl": f"<p>{t}</p>"}
    )),
    Shape("language map and content", lambda f, t: _note(
        f, t, contentMap={"nl": f"<p>{t}</p>", "en": "<p>other</p>"}
    )),
    Shape("single values where lists are usual", lambda f, t: _note(
        f, t, to=PUBLIC, cc=f.id + "/followers",
        tag={"type": "Hashtag", "name": "#plein", "href": f.server.url("/tags/plein")},
        attachment=_image("alt " + t),
    ), needles=lambda t: [t, f'alt="alt {t}"']),
    Shape("lists where one value is usual", lambda f, t: _note(
        f, t, attributedTo=[f.id], url=[f.server.url("/@fiona/1"), f.server.url("/x")],
    )),
    Shape("embedded author", lambda f, t: _note(
        f, t, attributedTo={"id": f.id, "type": "Person", "name": "Fiona"},
        url={"type": "Link", "href": f.server.url("/@fiona/2"), "mediaType": "text/html"},
    )),
    Shape("public as as:Public", lambda f, t: _note(f, t, to=["as:Public"])),
    Shape("missing optional fields", lambda f, t: {
        "id": f.server.url(f"/users/fiona/statuses/{next(_numbers)}"), "type": "Note",
        "attributedTo": f.id, "to": PUBLIC, "content": t,
    }),
    Shape("referenced, not embedded", lambda f, t: _note(f, t), referenced=True),
    Shape("embedded reply parent that cannot be fetched", lambda f, t: _note(
        f, t, inReplyTo={"id": f.server.url("/users/fiona/statuses/999999"), "type": "Note"},
    ), to_tribe=False),
    Shape("content warning with sensitive image", lambda f, t: _note(
        f, t, summary="cw " + t, sensitive=True, attachment=[_image("hidden " + t)],
    ), needles=lambda t: ["cw " + t, t, f'alt="hidden {t}"']),
    Shape("images with alt text", lambda f, t: _note(f, t, attachment=[
        _image("A red bicycle " + t, "a.png", width=640, height=480, blurhash="UBL_:rOpGG-oBUNG"),
        {"type": "Image", "url": f"{MEDIA}/b.jpg", "name": "Second " + t},
        {"type": "Document", "url": f"{MEDIA}/c.webp", "mediaType": "image/webp"},
    ]), needles=lambda t: [
        f'alt="A red bicycle {t}"', f'src="{MEDIA}/a.png"', 'loading="lazy"',
        'referrerpolicy="no-referrer"', f'alt="Second {t}"', f'src="{MEDIA}/c.webp"',
    ]),
    Shape("each media type as attachment", lambda f, t: _note(f, t, attachment=[
        {"type": "Video", "url": f"{MEDIA}/v.mp4", "mediaType": "video/mp4", "name": "clip " + t},
        {"type": "Audio", "url": f"{MEDIA}/a.ogg", "mediaType": "audio/ogg", "name": "song " + t},
        {"type": "Document", "url": f"{MEDIA}/d.pdf", "mediaType": "application/pdf"},
        {"type": "Document", "url": [
            {"type": "Link", "href": f"{MEDIA}/l.mp4", "mediaType": "video/mp4"}
        ], "mediaType": "video/mp4", "name": "linked " + t},
        {"type": "Document", "url": "javascript:alert(1)", "name": "evil"},
    ]), needles=lambda t: [
        f'href="{MEDIA}/v.mp4"', "clip " + t, "song " + t, f'href="{MEDIA}/d.pdf"', "d.pdf",
        "application/pdf", "linked " + t,
    ]),
    Shape("Image object without content", lambda f, t: _note(
        f, t, type="Image", content=None, name="Photo " + t,
        url=[{"type": "Link", "href": f"{MEDIA}/p.jpg", "mediaType": "image/jpeg"}],
    ), needles=lambda t: ["Photo " + t, f'src="{MEDIA}/p.jpg"']),
    Shape("Video object (PeerTube)", lambda f, t: _note(
        f, t, type="Video", name="Video " + t, content=f"<p>about {t}</p>",
        mediaType="text/markdown",
        url=[
            {"type": "Link", "mediaType": "text/html", "href": f.server.url("/w/abc")},
            {"type": "Link", "mediaType": "video/mp4", "href": f"{MEDIA}/v-720.mp4"},
        ],
    ), needles=lambda t: ["about " + t, "Video " + t, 'href="http://localhost:9001/w/abc"']),
    Shape("Audio object", lambda f, t: _note(
        f, t, type="Audio", content=None, name="Track " + t, url=f"{MEDIA}/t.mp3",
    ), needles=lambda t: ["Track " + t, f'href="{MEDIA}/t.mp3"']),
    Shape("Document object", lambda f, t: _note(
        f, t, type="Document", content=None, name="Report " + t, url=f"{MEDIA}/r.pdf",
        mediaType="application/pdf",
    ), needles=lambda t: ["Report " + t, f'href="{MEDIA}/r.pdf"']),
    Shape("Event (Mobilizon)", lambda f, t: _note(
        f, t, type="Event", name="Dance " + t, content=f"<p>{t}</p>",
        startTime="2030-06-01T19:00:00+02:00", endTime="2030-06-01T21:00:00+02:00",
        location={"type": "Place", "name": "Kenn Centre", "address": {
            "type": "PostalAddress", "streetAddress": "Main St 1", "addressLocality": "Exeter",
        }},
        attachment=[{"type": "Document", "mediaType": "image/jpeg", "name": "Banner",
                     "url": f"{MEDIA}/banner.jpg"}],
    ), needles=lambda t: ["Dance " + t, t, "2030-06-01", "Kenn Centre", 'alt="Banner"']),
    Shape("poll (Question)", lambda f, t: _note(
        f, t, type="Question", endTime="2030-01-01T00:00:00Z",
        oneOf=[{"type": "Note", "name": "Yes " + t}, {"type": "Note", "name": "No " + t}],
    ), needles=lambda t: [t, "Yes " + t, "No " + t]),
    Shape("very long url", lambda f, t: _note(f, t, url=f.server.url("/@fiona/" + "u" * 3000))),
    Shape("very long reply id", lambda f, t: _note(
        f, t, inReplyTo=f.server.url("/users/fiona/statuses/" + "9" * 3000),
    ), to_tribe=False),
    Shape("very long object id", lambda f, t: _note(
        f, t, id=f.server.url("/users/fiona/statuses/" + "7" * 3000),
    ), expect="ignored"),
    Shape("unknown object type", lambda f, t: _note(f, t, type="Bookmark"), expect="ignored"),
    Shape("object on another host", lambda f, t: _note(
        f, t, id=f"http://elsewhere.example/notes/{next(_numbers)}"
    ), expect="ignored"),
    Shape("object by someone else", lambda f, t: _note(
        f, t, attributedTo="http://localhost:9001/users/gerda"
    ), expect="ignored"),
    Shape("object id not a URL", lambda f, t: _note(f, t, id="urn:uuid:1234"), expect="ignored"),
    Shape("type is a number", lambda f, t: _note(f, t, type=7), expect="ignored"),
]


async def _send(world: World, shape: Shape, *, tribe: bool) -> tuple[str, int, str]:
    """Deliver the shape; return (object id, status, token)."""
    token = f"shape{next(_numbers)}x"
    doc = shape.build(world.fiona, token)
    if tribe:
        doc["cc"] = [*_as_list(doc.get("cc")), PLEIN]
        doc["tag"] = [*_as_list(doc.get("tag")),
                      {"type": "Mention", "href": PLEIN, "name": "@plein@localhost:8001"}]
    else:
        doc["cc"] = [*_as_list(doc.get("cc")), ALICE]
    object_id = doc["id"] if isinstance(doc["id"], str) else str(doc["id"])
    obj: Any = doc
    if shape.referenced:
        world.server.docs[object_id.removeprefix("http://localhost:9001")] = doc
        obj = object_id
    create = world.fiona.activity("Create", obj, to=doc.get("to"), cc=doc.get("cc"))
    path = "/tribes/plein/inbox" if tribe else "/users/alice/inbox"
    status = await deliver(world.app, world.fiona, create, path)
    await drain(world.app)
    return object_id, status, token


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


async def _page(world: World, path: str, who: str = "alice") -> str:
    client = world.app.test_client()
    await login(client, who)
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


async def _items(world: World) -> list[InboxItem]:
    async with world.app.state.db.session() as db:
        return list(await db.scalars(select(InboxItem).order_by(InboxItem.id)))


async def _assert_nothing_lost(world: World) -> None:
    for item in await _items(world):
        assert item.state in ("done", "ignored"), (item.type, item.state, item.error)
        if item.state == "ignored":
            assert item.error, f"{item.type} {item.ap_id} ignored without a reason"


async def _check(world: World, shape: Shape, *, tribe: bool) -> None:
    object_id, status, token = await _send(world, shape, tribe=tribe)
    page_path = "/tribes/plein/activity" if tribe else "/timeline"
    assert status == 202, status
    await _assert_nothing_lost(world)
    last = (await _items(world))[-1]
    page = await _page(world, page_path)
    async with world.app.state.db.session() as db:
        stored = await db.scalar(select(ApObject).where(ApObject.ap_id == object_id))
        posted = await db.scalar(select(TribePost).where(TribePost.object_ap_id == object_id))
    if shape.expect == "ignored":
        assert last.state == "ignored" and last.error, (last.state, last.error)
        assert token not in page
        return
    assert last.state == "done", (last.state, last.error)
    assert stored is not None and stored.deleted_at is None
    if tribe:
        assert posted is not None and posted.state == "active"
    for needle in shape.needles(token):
        assert needle in page, f"{shape.name}: {needle!r} not shown on {page_path}"
    assert "javascript:" not in page


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
async def test_shape_sent_to_a_person(world: World, shape: Shape) -> None:
    await _check(world, shape, tribe=False)


@pytest.mark.parametrize(
    "shape", [s for s in SHAPES if s.to_tribe], ids=[s.name for s in SHAPES if s.to_tribe]
)
async def test_shape_sent_to_a_tribe(world: World, shape: Shape) -> None:
    await _check(world, shape, tribe=True)


async def test_every_shape_in_one_inbox(world_on_both: World) -> None:
    """All shapes after one another (person and tribe): the worker keeps going, none lost."""
    world = world_on_both
    for shape in SHAPES:
        await _send(world, shape, tribe=False)
        if shape.to_tribe:
            await _send(world, shape, tribe=True)
    await _assert_nothing_lost(world)
    states = [item.state for item in await _items(world)]
    assert states.count("done") >= len([s for s in SHAPES if s.expect == "shown"])


# ------------------------------------------------------------------ bto / bcc


@pytest.mark.parametrize("where", ["object bcc", "object bto", "activity bcc"])
async def test_blind_copy_reaches_only_that_person(world_on_both: World, where: str) -> None:
    world = world_on_both
    token = f"secret{next(_numbers)}x"
    doc = _note(world.fiona, token, to=[], cc=[])
    place, key = where.split()
    blind = {key: [ALICE]}
    if place == "object":
        doc.update(blind)
    create = world.fiona.activity("Create", doc, to=[], cc=[], **blind)
    status = await deliver(world.app, world.fiona, create, "/users/alice/inbox")
    assert status == 202
    await drain(world.app)
    await _assert_nothing_lost(world)
    assert token in await _page(world, "/timeline", "alice")
    assert token not in await _page(world, "/timeline", "bob")
    async with world.app.state.db.session() as db:
        stored = await db.scalar(select(ApObject).where(ApObject.ap_id == doc["id"]))
        assert stored is not None and stored.visibility == "direct"
        # Blind recipients are never kept where they could be shown or sent on.
        assert "bcc" not in stored.payload and "bto" not in stored.payload
        alice = await db.scalar(select(Actor).where(Actor.ap_id == ALICE))
        assert alice is not None
        told = list(await db.scalars(
            select(Notification).where(Notification.recipient_id == alice.id)
        ))
        # (Issue 12: her tribe's new members are news for her too; not what this is about.)
        told = [n for n in told if not n.kind.startswith("tribe_")]
        assert [n.kind for n in told] == ["mention"]
        assert told[0].payload["note"] == doc["id"]
        # Her inbox (read over C2S) holds the activity without the blind recipients.
        entry = await db.scalar(
            select(InboxEntry).where(
                InboxEntry.actor_id == alice.id, InboxEntry.activity_ap_id == create["id"]
            )
        )
        assert entry is not None
        # Keys, not the text: a random hex id may well contain "bcc".
        kept = [entry.payload, entry.payload.get("object")]
        assert all(isinstance(d, dict) and not {"bcc", "bto"} & d.keys() for d in kept)
    assert token in await _page(world, "/notifications", "alice")
    assert token not in await _page(world, "/notifications", "bob")
    # Nor did it reach the tribe's page.
    tribe_page = await world.app.test_client().get("/tribes/plein/activity")
    assert token not in await tribe_page.get_data(as_text=True)


async def test_blind_copy_is_not_sent_on_by_a_tribe(world_on_both: World) -> None:
    """A public post to the tribe with a bcc: the tribe announces it without the bcc."""
    world = world_on_both
    token = f"tribebcc{next(_numbers)}x"
    doc = _note(world.fiona, token, cc=[world.fiona.id + "/followers", PLEIN], bcc=[BOB])
    create = world.fiona.activity("Create", doc, to=[PUBLIC], cc=doc["cc"], bcc=[BOB])
    assert await deliver(world.app, world.fiona, create, "/tribes/plein/inbox") == 202
    await drain(world.app)
    await _assert_nothing_lost(world)
    announced = [
        body for _path, body in world.server.posts
        if body.get("type") == "Announce" and isinstance(body.get("object"), dict)
    ]
    assert announced, "the tribe did not announce the post"
    for body in announced:
        assert "bcc" not in body["object"] and "bcc" not in (body["object"].get("object") or {})
    assert BOB not in str(announced)


# ------------------------------------------------------------------ indexable


async def test_actors_carry_indexable(world: World) -> None:
    client = world.app.test_client()
    person = await (await client.get("/users/alice", headers=AP_HEADERS)).get_json()
    assert person["indexable"] is True and person["discoverable"] is True
    group = await (await client.get("/tribes/plein", headers=AP_HEADERS)).get_json()
    assert group["indexable"] is group["discoverable"]
    async with world.app.state.db.session() as db:
        bob = await db.scalar(select(Actor).where(Actor.ap_id == BOB))
        assert bob is not None
        bob.discoverable = False
    hidden = await client.get("/users/bob", headers=AP_HEADERS)
    if hidden.status_code == 200:  # hidden people may also be served as 404
        assert (await hidden.get_json())["indexable"] is False
    instance = await (await client.get("/actor", headers=AP_HEADERS)).get_json()
    assert instance["indexable"] is False
    terms: dict[str, Any] = {}
    for entry in person["@context"]:
        if isinstance(entry, dict):
            terms.update(entry)
    if "indexable" not in terms:  # our terms may be published in a separate context document
        ns = next(e for e in person["@context"] if isinstance(e, str) and e.startswith(A))
        context = await (await client.get(ns.removeprefix(A))).get_json()
        terms = context["@context"]
    assert terms["indexable"] == "toot:indexable"


# ------------------------------------------------------------------ broken activities


@pytest.mark.parametrize("change", [
    {"id": "not a url"},
    {"type": 7},
    {"actor": {"id": 7}},
    {"object": 7},
    {"object": None},
])
async def test_broken_activity_is_refused_or_ignored_with_a_reason(
    world: World, change: dict[str, Any]
) -> None:
    """A Create that can never be used: 4xx at the door, or ignored with the reason."""
    create = world.fiona.activity("Create", _note(world.fiona, "broken"), to=[PUBLIC])
    create.update(change)
    status = await deliver(world.app, world.fiona, create, "/users/alice/inbox")
    await drain(world.app)
    if 400 <= status < 500:
        return
    assert status == 202, status
    await _assert_nothing_lost(world)
    last = (await _items(world))[-1]
    assert last.state == "ignored" and last.error, (last.state, last.error)
